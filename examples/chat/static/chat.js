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

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = joinForm.elements.name.value.trim();
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
    else if (message.type === "join") show(`${message.name} joined (${message.online} online)`, "notice");
    else if (message.type === "leave") show(`${message.name} left (${message.online} online)`, "notice");
    else if (message.type === "error") show(message.text, "notice");
  });
  socket.addEventListener("close", (event) => {
    statusLine.textContent = `Disconnected (${event.code}${event.reason ? ": " + event.reason : ""}).`;
    joinForm.hidden = false;
    sendForm.hidden = true;
  });
});

sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = sendForm.elements.text;
  if (socket && input.value.trim()) {
    socket.send(JSON.stringify({ text: input.value }));
    input.value = "";
  }
});
