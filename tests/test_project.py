"""`xether project ls|info|use` against the sandbox, and the default project's precedence."""

import json
import os

import pytest

import peers


@pytest.fixture
def user(user):
    user.sandbox.clear()
    return user


def config(cli):
    with open(os.path.join(cli.env["XETHER_CONFIG_DIR"], "config.json")) as f:
        return json.load(f)["profiles"]["default"]


def test_ls_in_every_format(user):
    r = user("project", "ls")
    assert r.code == 0, r
    header = r.out.splitlines()[0].split()
    assert header == ["ID", "NAME", "TEAM", "DESCRIPTION", "UPDATED"]
    assert any(line.split()[:2] == [str(user.project_id), "demo"] for line in r.out.splitlines()[1:])
    assert "Current project: %d" % user.project_id in r.err
    items = user("project", "ls", "-o", "json").json()
    demo = [p for p in items if p["name"] == "demo"][0]
    assert set(demo) >= {"id", "name", "description", "team_id", "created_at", "updated_at"}
    r = user("project", "ls", "--team", demo["team_id"], "-o", "csv")
    assert r.code == 0 and r.out.splitlines()[0] == "id,name,team_id,description,updated_at"
    assert user("project", "ls", "--team", "99999", "-o", "json").json() == []
    requests = user.sandbox.requests()
    assert requests[-1]["path"] == "/api/v1/projects/" and "team_id=99999" in requests[-1]["query"]


def test_info(user):
    r = user("project", "info", user.project_id)
    assert r.code == 0, r
    assert r.out.splitlines()[0].split() == ["ID:", str(user.project_id)]
    assert "Name:" in r.out and "demo" in r.out
    r = user("project", "info", user.project_id, "-o", "json")
    assert r.json()["id"] == user.project_id
    r = user("project", "info", "424242")
    assert r.code == 5 and "HTTP 404: Project not found (request id " in r.err
    user.sandbox.clear()
    for bad in ("abc", "1/versions", "-1", "1%2F2"):
        r = user("project", "info", "--", bad)
        assert r.code == 2 and "invalid project id" in r.err, (bad, r)
    assert user.sandbox.requests() == []


def test_use_stores_the_default_and_flags_win(user):
    assert config(user)["project"] == user.project_id  # the fixture ran 'project use'
    r = user("project", "use", "424242")
    assert r.code == 5
    assert config(user)["project"] == user.project_id  # unchanged by a failed use
    token = peers.stored_credentials(user)["access_token"]
    status, made = peers.api(user.sandbox.url, "POST", "/projects/", token=token,
                             body={"name": "second", "team_id": 1})
    assert status == 201, made
    r = user("project", "use", made["id"])
    assert r.code == 0, r
    assert "Now using project second (%d) in profile default" % made["id"] in r.err
    assert config(user)["project"] == made["id"]
    assert user("config", "get", "project").out == "%d\n" % made["id"]
    assert user("--project", "7", "config", "get", "project").out == "7\n"
    assert user("config", "get", "project", env={"XETHER_PROJECT": "8"}).out == "8\n"


def test_a_command_needing_a_project_says_how_to_set_one(user):
    assert user("config", "unset", "project").code == 0
    r = user("artifact", "ls")
    assert r.code == 2, r
    assert r.err.splitlines()[0] == "xether: error: no project selected"
    assert "xether project use ID" in r.err and "--project ID" in r.err
    assert "XETHER_PROJECT" in r.err
    assert user("--project", str(user.project_id), "artifact", "ls").code == 0


def test_not_logged_in(cli, sandbox):
    r = cli("--api-url", sandbox.url, "project", "ls")
    assert r.code == 3 and "not logged in" in r.err and "xether login" in r.err
