"""`xether config ...` and the files behind it: locations, modes, locking, precedence,
profiles, corrupt files, and that nothing secret is ever shown."""

import json
import os
import stat
import subprocess

CREDS = {"profiles": {"default": {
    "api_url": "http://127.0.0.1:9", "email": "me@example.com", "method": "password",
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjo0MTAyNDQ0ODAwfQ.SECRETSIGNATUREaaaa",
    "refresh_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.REFRESHSECRETbbbb"}}}


def config_dir(cli):
    return cli.env["XETHER_CONFIG_DIR"]


def read_json(path):
    with open(path) as f:
        return json.load(f)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def write_creds(cli, data=CREDS, perms=0o600):
    d = config_dir(cli)
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, "credentials.json")
    with open(path, "w") as f:
        json.dump(data, f)
    os.chmod(path, perms)
    return path


def test_set_get_unset_round_trip_and_file_modes(cli):
    r = cli("config", "set", "project", "42")
    assert r.code == 0, r
    assert "Set project in profile default" in r.err
    assert cli("config", "get", "project").out == "42\n"
    d = config_dir(cli)
    assert mode(d) == 0o700
    assert mode(os.path.join(d, "config.json")) == 0o600
    assert read_json(os.path.join(d, "config.json")) == {"profiles": {"default": {"project": 42}}}
    r = cli("config", "get", "project", "-o", "json")
    assert r.json() == {"key": "project", "value": 42, "source": "config (profile default)"}
    assert cli("config", "unset", "project").code == 0
    r = cli("config", "get", "project")
    assert (r.code, r.out) == (0, "")
    assert read_json(os.path.join(d, "config.json")) == {"profiles": {}}


def test_existing_loose_directory_is_tightened(cli):
    d = config_dir(cli)
    os.makedirs(d)
    os.chmod(d, 0o755)
    assert cli("config", "set", "bucket", "my-bucket").code == 0
    assert mode(d) == 0o700


def test_bad_keys_and_values_are_usage_errors(cli):
    r = cli("config", "set", "colour", "always")
    assert r.code == 2
    assert "unknown setting 'colour'" in r.err and "Valid keys:" in r.err
    for key, value, words in (("project", "abc", "project id is a number"),
                              ("request_timeout", "-1", "request timeout"),
                              ("max_attempts", "0", "max_attempts"),
                              ("api_url", "ftp://x", "invalid api_url"),
                              ("ca_bundle", "/nonexistent/ca.pem", "not a readable file")):
        r = cli("config", "set", key, value)
        assert r.code == 2, r
        assert words in r.err and "Traceback" not in r.err, r
    assert not os.path.exists(os.path.join(config_dir(cli), "config.json"))


def test_precedence_flag_env_profile_default(cli):
    def source_and_value():
        r = cli("config", "get", "api_url", "-o", "json", env=env, *flags)
        assert r.code == 0, r
        return r.json()["value"], r.json()["source"]

    env, flags = {}, ()
    assert source_and_value() == ("https://api.xether.ai", "default")
    assert cli("config", "set", "api_url", "local").code == 0
    assert source_and_value() == ("http://localhost:8000", "config (profile default)")
    env = {"XETHER_API_URL": "http://127.0.0.1:1234/"}
    assert source_and_value() == ("http://127.0.0.1:1234", "env XETHER_API_URL")
    flags = ("--api-url", "https://flag.example.com")
    assert source_and_value() == ("https://flag.example.com", "flag --api-url")


def test_request_timeout_and_project_precedence(cli):
    assert cli("config", "set", "request_timeout", "7.5").code == 0
    assert cli("config", "get", "request_timeout").out == "7.5\n"
    assert cli("--request-timeout", "2", "config", "get", "request_timeout").out == "2.0\n"
    assert cli("config", "set", "project", "3").code == 0
    assert cli("config", "get", "project", env={"XETHER_PROJECT": "5"}).out == "5\n"
    assert cli("--project", "9", "config", "get", "project",
               env={"XETHER_PROJECT": "5"}).out == "9\n"


def test_profiles_by_flag_and_environment(cli):
    assert cli("config", "set", "project", "1").code == 0
    assert cli("--profile", "staging", "config", "set", "project", "2").code == 0
    assert cli("config", "get", "project").out == "1\n"
    assert cli("--profile", "staging", "config", "get", "project").out == "2\n"
    assert cli("config", "get", "project", env={"XETHER_PROFILE": "staging"}).out == "2\n"
    assert cli("--profile", "default", "config", "get", "project",
               env={"XETHER_PROFILE": "staging"}).out == "1\n"
    r = cli("config", "profiles", "-o", "json", env={"XETHER_PROFILE": "staging"})
    assert r.code == 0, r
    assert r.json() == [{"name": "default", "current": ""}, {"name": "staging", "current": "*"}]
    data = read_json(os.path.join(config_dir(cli), "config.json"))
    assert data == {"profiles": {"default": {"project": 1}, "staging": {"project": 2}}}


def test_twenty_concurrent_sets_lose_nothing(cli):
    procs = []
    for i in range(20):
        args = ("--profile", "p%02d" % i, "config", "set", "project", str(100 + i))
        procs.append(cli.popen(*args))
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    data = read_json(os.path.join(config_dir(cli), "config.json"))
    assert data["profiles"] == dict(("p%02d" % i, {"project": 100 + i}) for i in range(20))
    leftovers = [n for n in os.listdir(config_dir(cli)) if n.endswith(".tmp")]
    assert leftovers == []


def test_corrupt_config_is_reported_and_never_overwritten(cli):
    d = config_dir(cli)
    os.makedirs(d)
    path = os.path.join(d, "config.json")
    junk = b'{"profiles": {"default": {"project": 4'
    with open(path, "wb") as f:
        f.write(junk)
    for args in (("config", "set", "project", "5"), ("config", "get", "project"),
                 ("config", "view"), ("project", "ls")):
        r = cli(*args)
        assert r.code == 2, r
        lines = r.err.splitlines()
        assert path in lines[0] and "cannot read" in lines[0], r
        assert "will not overwrite" in r.err and "Traceback" not in r.err
    with open(path, "rb") as f:
        assert f.read() == junk
    with open(path, "wb") as f:
        f.write(b'["a list, not a config"]')
    r = cli("config", "set", "project", "5")
    assert r.code == 2 and "not a xether config file" in r.err


def test_corrupt_credentials_file_is_reported(cli):
    d = config_dir(cli)
    os.makedirs(d)
    path = os.path.join(d, "credentials.json")
    with open(path, "w") as f:
        f.write("not json")
    os.chmod(path, 0o600)
    r = cli("config", "view")
    assert r.code == 2 and path in r.err


def test_config_view_shows_no_secret(cli):
    write_creds(cli)
    r = cli("--api-url", "http://127.0.0.1:9", "config", "view")
    assert r.code == 0, r
    assert "logged in as me@example.com" in r.out
    r2 = cli("--api-url", "http://127.0.0.1:9", "config", "view", "-o", "json")
    assert r2.code == 0
    assert r2.json()["settings"]["api_url"]["source"] == "flag --api-url"
    key = "xether_" + "K" * 43
    r3 = cli("config", "view", env={"XETHER_API_KEY": key})
    assert "xether_KK..." in r3.out and "env XETHER_API_KEY" in r3.out
    tokens = CREDS["profiles"]["default"]
    for res in (r, r2, r3):
        for secret in (tokens["access_token"], tokens["refresh_token"], "SECRETSIGNATURE",
                       "REFRESHSECRET", key):
            assert secret not in res.out + res.err


def test_group_readable_credentials_file_gets_a_warning(cli):
    path = write_creds(cli, perms=0o644)
    r = cli("--api-url", "http://127.0.0.1:9", "config", "view")
    assert r.code == 0, r
    assert "warning: %s is readable by other users; run: chmod 600 %s" % (path, path) in r.err
    assert r.err.count("readable by other users") == 1
    os.chmod(path, 0o600)
    r = cli("--api-url", "http://127.0.0.1:9", "config", "view")
    assert "readable by other users" not in r.err


def test_config_dir_locations(cli, tmp_path):
    env = dict(cli.env)
    del env["XETHER_CONFIG_DIR"]
    xdg = tmp_path / "xdg"

    def run(extra):
        e = dict(env, **extra)
        return subprocess.run(cli.prog + ["config", "set", "bucket", "abc"], env=e,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    assert run({"XDG_CONFIG_HOME": str(xdg)}).returncode == 0
    assert os.path.isfile(str(xdg / "xether" / "config.json"))
    env.pop("XDG_CONFIG_HOME", None)
    assert run({}).returncode == 0
    assert os.path.isfile(os.path.join(cli.home, ".config", "xether", "config.json"))
    assert mode(os.path.join(cli.home, ".config", "xether")) == 0o700
