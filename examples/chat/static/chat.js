// The browser side of the chat: join with a name, then send and show messages.
"use strict";

const messages = document.getElementById("messages");
const statusLine = document.getElementById("status");
const joinForm = document.getElementById("join");
const sendForm = document.getElementById("send");
let socket = null;

function show(text, className) {
  const item = document.createElement("li");
  item.textContent = text;  // text, never HTML: names and messages come from other users
  if (className) item.className = className;
  messages.append(item);
}

// 1012 means the server restarted or lost messages for us: join again after a moment.
const RECONNECT_CODE = 1012;

function connect(name) {
  const url = new URL(document.body.dataset.socket, window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("name", name);
  socket = new WebSocket(url);
  socket.addEventListener("open", () => {
    statusLine.textContent = `Connected as ${name}.`;
    joinForm.hidden = true;
    sendForm.hidden = false;
    sendForm.elements.text.focus();
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "message") show(`${message.name}: ${message.text}`);
    else if (message.type === "join") show(`${message.name} joined`, "notice");
    else if (message.type === "leave") show(`${message.name} left`, "notice");
    else if (message.type === "error") show(message.text, "notice");
  });
  socket.addEventListener("close", (event) => {
    const why = `${event.code}${event.reason ? ": " + event.reason : ""}`;
    if (event.code === RECONNECT_CODE) {
      // Spread out, so a restart is not met by every browser at the same instant.
      statusLine.textContent = `Reconnecting (${why})...`;
      show("Some messages may have been missed.", "notice");
      setTimeout(() => connect(name), 500 + Math.random() * 1000);
      return;
    }
    statusLine.textContent = `Disconnected (${why}).`;
    joinForm.hidden = false;
    sendForm.hidden = true;
  });
}

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  connect(joinForm.elements.name.value.trim());
});

sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = sendForm.elements.text;
  if (socket && input.value.trim()) {
    socket.send(JSON.stringify({ text: input.value }));
    input.value = "";
  }
});
