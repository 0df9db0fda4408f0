"""Tests for the ``hs-notebook`` command line, run as real subprocesses.

Every run goes through :func:`run`, which also checks that no slice of the private key
(PEM body or its base64) ever appears on stdout or stderr, and that nothing prints a
traceback.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

KID = "cli-key"
VID = "vid-cli"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_token(key: rsa.RSAPrivateKey, claims: dict[str, Any], header: Any = None) -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": KID} if header is None else header
    signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}"
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64u(sig)}"


class Keys:
    """One RSA key written to disk in the shapes the CLI accepts."""

    def __init__(self, root: Path) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.b64 = base64.b64encode(self.pem).decode()
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.pem_file = root / "key.pem"
        self.pem_file.write_bytes(self.pem)
        self.b64_file = root / "key.b64"
        self.b64_file.write_text(self.b64 + "\n")
        self.public_file = root / "public.pem"
        self.public_file.write_bytes(self.public_pem)
        body = "".join(line for line in self.pem.decode().splitlines() if "-----" not in line)
        self.windows = {s[i : i + 40] for s in (body, self.b64) for i in range(len(s) - 40 + 1)}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("cli-keys"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPSTREAM_")}
    env.update(extra)
    return env


def run(
    keys: Keys, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "hs_notebook.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=clean_env() if env is None else env,
        timeout=60,
    )
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, stream
        compact = "".join(stream.split())
        for i in range(len(compact) - 40 + 1):
            assert compact[i : i + 40] not in keys.windows, "private key material was printed"
    return proc


def assert_usage_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("hs-notebook: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert proc.stdout == ""


# ---------------------------------------------------------------------------- entry points


def test_console_script_is_installed_and_runs_help() -> None:
    script = Path(sys.executable).parent / "hs-notebook"
    assert script.is_file(), f"the hs-notebook console script is missing from {script.parent}"
    proc = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, env=clean_env()
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("mint", "urls", "inspect-token", "demo"):
        assert command in proc.stdout


# ---------------------------------------------------------------------------- mint


def test_mint_with_key_file(keys: Keys) -> None:
    before = int(time.time())
    proc = run(keys, "mint", "--video-id", VID, "--key-id", KID, "--key-file", keys.pem_file)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    claims = jwt.decode(token, keys.public_pem, algorithms=["RS256"], audience="v")
    assert claims["sub"] == VID
    assert before + 3600 <= claims["exp"] <= int(time.time()) + 3600
    assert set(claims) == {"sub", "aud", "exp"}
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": KID}


def test_mint_base64_key_file_ttl_nbf_json(keys: Keys) -> None:
    before = int(time.time())
    proc = run(
        keys,
        "mint",
        "--video-id",
        VID,
        "--key-id",
        KID,
        "--key-file",
        keys.b64_file,
        "--ttl",
        "120",
        "--nbf",
        "-30",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"token", "header", "claims"}
    assert out["header"] == {"alg": "RS256", "typ": "JWT", "kid": KID}
    claims = jwt.decode(out["token"], keys.public_pem, algorithms=["RS256"], audience="v")
    assert claims == out["claims"]
    assert before + 120 <= claims["exp"] <= int(time.time()) + 120
    assert before - 30 <= claims["nbf"] <= int(time.time()) - 30


def test_mint_from_env(keys: Keys) -> None:
    env = clean_env(HEAPSTREAM_SIGNING_KEY_ID="env-kid", HEAPSTREAM_SIGNING_KEY=keys.b64)
    proc = run(keys, "mint", "--video-id", VID, env=env)
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip()
    assert jwt.get_unverified_header(token)["kid"] == "env-kid"
    assert jwt.decode(token, keys.public_pem, algorithms=["RS256"], audience="v")["sub"] == VID
    # --key-file with the key id from the environment
    env = clean_env(HEAPSTREAM_SIGNING_KEY_ID="env-kid-2")
    proc = run(keys, "mint", "--video-id", VID, "--key-file", keys.pem_file, env=env)
    assert proc.returncode == 0, proc.stderr
    assert jwt.get_unverified_header(proc.stdout.strip())["kid"] == "env-kid-2"


# ---------------------------------------------------------------------------- urls


def test_urls_json(keys: Keys) -> None:
    proc = run(
        keys,
        "urls",
        "--project-id",
        "12",
        "--video-id",
        VID,
        "--preset-id",
        "p-360",
        "--preset-id",
        "p-720",
        "--poster-id",
        "post-1",
        "--text-track-id",
        "en",
        "--storyboard-id",
        "4",
        "--key-id",
        KID,
        "--key-file",
        keys.pem_file,
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["kind"], r["id"]) for r in rows] == [
        ("embed", VID),
        ("master", VID),
        ("poster", "post-1"),
        ("text_track", "en"),
        ("preset", "p-360"),
        ("preset", "p-720"),
        ("mp4", "p-360"),
        ("mp4", "p-720"),
        ("storyboard", "4"),
        ("original", VID),
    ]
    prefixes = {
        "embed": "e",
        "master": "mmpl",
        "poster": "pstv",
        "text_track": "mplt",
        "preset": "mpl",
        "mp4": "stcr4",
        "storyboard": "sbt",
        "original": "dlo",
    }
    tokens = set()
    for r in rows:
        parts = urlsplit(r["url"])
        assert (parts.scheme, parts.netloc) == ("https", "app.heapstream.com")
        assert parts.path == f"/{prefixes[r['kind']]}/12/{r['id']}/"
        (token,) = parse_qs(parts.query)["token"]
        tokens.add(token)
    assert len(tokens) == 1  # one token for the whole video
    claims = jwt.decode(tokens.pop(), keys.public_pem, algorithms=["RS256"], audience="v")
    assert claims["sub"] == VID


def test_urls_text_with_base_url(keys: Keys) -> None:
    env = clean_env(HEAPSTREAM_SIGNING_KEY_ID=KID, HEAPSTREAM_SIGNING_KEY=keys.b64)
    proc = run(
        keys,
        "urls",
        "--project-id",
        "3",
        "--video-id",
        VID,
        "--base-url",
        "http://127.0.0.1:8765/",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["embed", "master", "original"]
    assert lines[0].split()[1].startswith(f"http://127.0.0.1:8765/e/3/{VID}/?token=")


# ---------------------------------------------------------------------------- inspect-token


def test_inspect_token_clean_exits_0(keys: Keys) -> None:
    token = hand_token(keys.private, {"sub": VID, "aud": "v", "exp": int(time.time()) + 600})
    url = f"https://app.heapstream.com/e/12/{VID}/?token={token}"
    proc = run(keys, "inspect-token", token, "--public-key", keys.public_file, "--url", url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "diagnosis: no problems found" in proc.stdout
    assert '  alg: "RS256"' in proc.stdout
    assert f'  kid: "{KID}"' in proc.stdout
    assert f'  sub: "{VID}"' in proc.stdout
    assert "UTC (in " in proc.stdout  # exp shown as a human time


def test_inspect_token_problems_exit_1(keys: Keys) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    past = int(time.time()) - 3600
    token = hand_token(other, {"sub": "vid-x", "aud": "v", "exp": past})
    url = f"https://app.heapstream.com/mmpl/12/{VID}/?token={token}"
    proc = run(keys, "inspect-token", token, "--public-key", keys.public_file, "--url", url)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for code in ("wrong_subject", "expired", "bad_signature"):
        assert f"error: {code}:" in proc.stdout
    proc = run(keys, "inspect-token", token, "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["claims"]["sub"] == "vid-x"
    assert [f["code"] for f in out["findings"]] == ["expired"]


def test_inspect_token_garbage_exits_1(keys: Keys) -> None:
    proc = run(keys, "inspect-token", "not-a-token")
    assert proc.returncode == 1
    assert "malformed_token" in proc.stdout
    assert "header:" not in proc.stdout


def test_inspect_token_warning_only_exits_0(keys: Keys) -> None:
    far = int(time.time()) + 400 * 86400
    token = hand_token(keys.private, {"sub": VID, "aud": "v", "exp": far})
    proc = run(keys, "inspect-token", token)
    assert proc.returncode == 0, proc.stdout
    assert "warning: exp_implausible:" in proc.stdout


# ---------------------------------------------------------------------------- usage errors


def test_missing_key_file(keys: Keys, tmp_path: Path) -> None:
    proc = run(
        keys, "mint", "--video-id", VID, "--key-id", KID, "--key-file", tmp_path / "nope.pem"
    )
    assert_usage_error(proc, "no key file", "nope.pem")


def test_key_file_with_garbage(keys: Keys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("definitely not a key\n")
    proc = run(keys, "mint", "--video-id", VID, "--key-id", KID, "--key-file", bad)
    assert_usage_error(proc, "not valid base64")


def test_key_file_with_an_ec_key(keys: Keys, tmp_path: Path) -> None:
    ec_file = tmp_path / "ec.pem"
    ec_file.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    proc = run(keys, "mint", "--video-id", VID, "--key-id", KID, "--key-file", ec_file)
    assert_usage_error(proc, "EC", "RSA")


def test_key_file_without_key_id(keys: Keys) -> None:
    proc = run(keys, "mint", "--video-id", VID, "--key-file", keys.pem_file)
    assert_usage_error(proc, "--key-id")


def test_missing_required_argument(keys: Keys) -> None:
    proc = run(keys, "mint", "--key-id", KID, "--key-file", keys.pem_file)
    assert_usage_error(proc, "--video-id")


def test_no_command(keys: Keys) -> None:
    assert_usage_error(run(keys), "command")


def test_non_int_project_id(keys: Keys) -> None:
    proc = run(
        keys,
        "urls",
        "--project-id",
        "twelve",
        "--video-id",
        VID,
        "--key-id",
        KID,
        "--key-file",
        keys.pem_file,
    )
    assert_usage_error(proc, "--project-id", "twelve")


def test_no_key_anywhere(keys: Keys) -> None:
    proc = run(keys, "mint", "--video-id", VID)
    assert_usage_error(proc, "HEAPSTREAM_SIGNING_KEY")


def test_bad_ttl_and_bad_video_id(keys: Keys) -> None:
    base = ["--key-id", KID, "--key-file", str(keys.pem_file)]
    assert_usage_error(run(keys, "mint", "--video-id", VID, "--ttl", "0", *base), "--ttl")
    proc = run(keys, "urls", "--project-id", "1", "--video-id", "a/b", *base)
    assert_usage_error(proc, "video_id")


def test_private_key_given_as_public_key_is_not_echoed(keys: Keys) -> None:
    token = hand_token(keys.private, {"sub": VID, "aud": "v", "exp": int(time.time()) + 60})
    proc = run(keys, "inspect-token", token, "--public-key", keys.pem_file)
    assert_usage_error(proc, "public key")
    proc = run(keys, "inspect-token", token, "--public-key", keys.pem_file.parent / "missing")
    assert_usage_error(proc, "cannot read")


# ---------------------------------------------------------------------------- demo


def test_demo_prints_an_iframe(keys: Keys) -> None:
    proc = run(keys, "demo", "--print")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    iframes = [line for line in out.splitlines() if line.startswith("<iframe ")]
    assert len(iframes) == 1
    assert 'src="https://app.heapstream.com/e/1/v-demo/?token=' in iframes[0]
    assert 'width="640" height="360"' in iframes[0]
    for prefix in ("e", "mmpl", "pstv", "mplt", "mpl", "stcr4", "sbt", "dlo"):
        assert f"https://app.heapstream.com/{prefix}/1/" in out
    assert "SigningKey(key_id='demo-key', RSA-2048)" in out
    assert "PRIVATE" not in out


def test_outputs_checked_for_secrets(keys: Keys) -> None:
    """The leak check in run() must be able to fail."""
    leaked = f"some output {keys.b64[200:260]} more"
    compact = "".join(leaked.split())
    assert any(compact[i : i + 40] in keys.windows for i in range(len(compact) - 39))
