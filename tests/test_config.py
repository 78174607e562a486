"""``app.config``, by direct calls: the loaders and their errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from trioframe import Config, Trioframe


class Settings:
    DEBUG = True
    SECRET_KEY = "from an object"
    lowercase_is_ignored = "x"


def test_defaults(app: Trioframe) -> None:
    assert app.config["DEBUG"] is False
    assert app.config["TESTING"] is False
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 500_000
    assert app.config["MAX_FORM_PARTS"] == 1_000
    assert app.config["SECRET_KEY"] is None
    assert app.config.root_path == Path(app.root_path)


def test_from_mapping_takes_upper_case_keys() -> None:
    config = Config(".")
    assert config.from_mapping({"DEBUG": True, "debug": False}, SECRET_KEY="k", other=1)
    assert dict(config) == {"DEBUG": True, "SECRET_KEY": "k"}


def test_from_object_and_import_string() -> None:
    config = Config(".")
    config.from_object(Settings)
    assert config == {"DEBUG": True, "SECRET_KEY": "from an object"}
    config.from_object("tests.test_config.Settings")
    assert "lowercase_is_ignored" not in config
    with pytest.raises(ImportError):
        config.from_object("tests.no_such_module.Settings")


def test_from_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIOFRAME_DEBUG", "true")
    monkeypatch.setenv("TRIOFRAME_MAX_CONTENT_LENGTH", "1024")
    monkeypatch.setenv("TRIOFRAME_SECRET_KEY", "not json")
    monkeypatch.setenv("TRIOFRAME_DB__HOST", '"db.internal"')
    monkeypatch.setenv("TRIOFRAME_DB__PORT", "5432")
    monkeypatch.setenv("MYAPP_NAME", "ignored without the prefix")
    config = Config(".", {"DB": {"USER": "app"}})
    assert config.from_prefixed_env()
    assert config["DEBUG"] is True
    assert config["MAX_CONTENT_LENGTH"] == 1024
    assert config["SECRET_KEY"] == "not json"
    assert config["DB"] == {"USER": "app", "HOST": "db.internal", "PORT": 5432}
    assert "NAME" not in config
    other = Config(".")
    other.from_prefixed_env("MYAPP", loads=str.upper)
    assert other == {"NAME": "IGNORED WITHOUT THE PREFIX"}


def test_from_file(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"DEBUG": True, "lower": 1}))
    (tmp_path / "settings.toml").write_text('SECRET_KEY = "toml"\n')
    config = Config(tmp_path)
    assert config.from_file("settings.json", json.load)
    assert config.from_file(tmp_path / "settings.toml", tomllib.load, text=False)
    assert config == {"DEBUG": True, "SECRET_KEY": "toml"}
    assert not config.from_file("missing.json", json.load, silent=True)
    with pytest.raises(FileNotFoundError):
        config.from_file("missing.json", json.load)
    assert repr(config).startswith("<Config {")


def test_from_pyfile_and_from_envvar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "settings.py").write_text(
        "import os\nSECRET_KEY = 'from a file'\nDEBUG = True\nhelper = os.sep\n"
    )
    config = Config(tmp_path)
    assert config.from_pyfile("settings.py")  # relative to root_path
    assert (config["SECRET_KEY"], config["DEBUG"]) == ("from a file", True)
    assert "helper" not in config
    assert config.from_pyfile("absent.py", silent=True) is False
    with pytest.raises(FileNotFoundError):
        config.from_pyfile("absent.py")

    other = Config(tmp_path)
    monkeypatch.setenv("MYAPP_SETTINGS", str(tmp_path / "settings.py"))
    assert other.from_envvar("MYAPP_SETTINGS")
    assert other["SECRET_KEY"] == "from a file"
    monkeypatch.delenv("MYAPP_SETTINGS")
    assert other.from_envvar("MYAPP_SETTINGS", silent=True) is False
    with pytest.raises(RuntimeError, match="'MYAPP_SETTINGS' is not set"):
        other.from_envvar("MYAPP_SETTINGS")


def test_get_namespace() -> None:
    config = Config("/", {"MAIL_SERVER": "smtp", "MAIL_PORT": 25, "DEBUG": False})
    assert config.get_namespace("MAIL_") == {"server": "smtp", "port": 25}
    assert config.get_namespace("MAIL_", lowercase=False, trim_namespace=False) == {
        "MAIL_SERVER": "smtp",
        "MAIL_PORT": 25,
    }
