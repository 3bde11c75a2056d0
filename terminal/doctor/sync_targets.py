"""The checks of each sync target: DNS, TLS (with the target's CA and client certificate),
then authentication and a test delivery: a signed empty batch to a webhook, a QoS 1 test
message to ``payterm/<id>/doctor`` on a broker (on a session of its own, so the running
terminal's session is left alone)."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

import aiomqtt

from terminal.clock import SystemClock
from terminal.config.model import Config, SyncTargetConfig
from terminal.doctor.network import _check_dns, _reason
from terminal.doctor.probes import SystemProbes
from terminal.doctor.results import CheckResult, Status
from terminal.sync.mqtt import broker_of
from terminal.sync.mqtt_link import close_client, connect_client, is_auth_failure
from terminal.sync.targets import Refused, TryLater
from terminal.sync.webhook import WebhookTarget, tls_context

__all__ = ["check_sync_targets"]


async def check_sync_targets(config: Config, probes: SystemProbes) -> list[CheckResult]:
    """DNS, TLS, authentication and a test delivery for every ``[[sync.targets]]``."""
    results: list[CheckResult] = []
    for target in config.sync.targets:
        results += await _check_target(config, target, probes)
    return results


async def _check_target(
    config: Config, target: SyncTargetConfig, probes: SystemProbes
) -> list[CheckResult]:
    label = f"sync {target.name}"
    parts = urlsplit(target.url)
    secure = parts.scheme in ("https", "mqtts")
    default = {"https": 443, "http": 80, "mqtts": 8883, "mqtt": 1883}[parts.scheme]
    host, port = parts.hostname or "", parts.port or default
    rows = [await _check_dns(f"{label} dns", host, port, probes.network_timeout_s)]
    if rows[0].status is not Status.PASS:
        return rows
    if secure:
        rows.append(await _check_tls(f"{label} tls", target, host, port, probes))
        if rows[-1].status is not Status.PASS:
            return rows
    secrets = config.secrets.sync_secrets.get(target.name, {})
    if target.kind == "webhook":
        rows.append(await _webhook_probe(label, config, target, secrets.get("secret", "")))
    else:
        rows.append(await _mqtt_probe(label, config, target, secrets.get("password", "")))
    return rows


async def _check_tls(
    label: str, target: SyncTargetConfig, host: str, port: int, probes: SystemProbes
) -> CheckResult:
    try:
        context = tls_context(target.ca_file, target.cert_file, target.key_file)
    except (OSError, ssl.SSLError) as exc:
        fix = "check ca_file, cert_file and key_file: readable PEM files, the key matching"
        return CheckResult(label, Status.FAIL, f"cannot load the TLS files: {_reason(exc)}", fix)
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host),
            probes.network_timeout_s,
        )
    except ssl.SSLCertVerificationError as exc:
        fix = "set ca_file to the CA that signed the receiver's certificate, or correct the clock"
        detail = f"{host}:{port}: certificate not accepted: {exc.verify_message or exc}"
        return CheckResult(label, Status.FAIL, detail, fix)
    except (OSError, TimeoutError) as exc:
        fix = f"check the network and that the firewall lets the terminal out to port {port}"
        return CheckResult(label, Status.FAIL, f"{host}:{port}: {_reason(exc)}", fix)
    version = writer.get_extra_info("ssl_object").version()
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError):
        pass
    return CheckResult(label, Status.PASS, f"{host}:{port} {version}")


async def _webhook_probe(
    label: str, config: Config, target: SyncTargetConfig, secret: str
) -> CheckResult:
    hook = WebhookTarget(
        target, secret=secret, terminal_id=config.terminal.id, epoch="doctor", clock=SystemClock()
    )
    try:
        await hook.probe()
    except Refused as exc:
        fix = f"the receiver refused a signed test batch: check [sync.{target.name}] secret"
        return CheckResult(f"{label} auth", Status.FAIL, exc.reason, fix)
    except TryLater as exc:
        fix = "the receiver is unreachable or failing; check its address and that it runs"
        return CheckResult(f"{label} auth", Status.FAIL, exc.reason, fix)
    finally:
        await hook.aclose()
    return CheckResult(f"{label} auth", Status.PASS, "a signed test batch was accepted")


async def _mqtt_probe(
    label: str, config: Config, target: SyncTargetConfig, password: str
) -> CheckResult:
    broker = broker_of(target, password)
    ident = f"payterm-{config.terminal.id}-doctor"
    client = connect_client(broker, identifier=ident, persistent=False)
    topic = f"payterm/{config.terminal.id}/doctor"
    try:
        await client.__aenter__()
    except aiomqtt.MqttError as exc:
        if is_auth_failure(exc):
            fix = f"check username and [sync.{target.name}] password, or the client certificate"
            return CheckResult(f"{label} auth", Status.FAIL, f"refused: {exc}", fix)
        fix = "check the broker's address and that it runs"
        return CheckResult(f"{label} auth", Status.FAIL, f"cannot connect: {exc}", fix)
    try:
        await client.publish(topic, b'{"test":true}', qos=1, timeout=target.timeout_s)
    except aiomqtt.MqttError as exc:
        fix = f"the broker's access rules must let the terminal publish to {topic[:-7]}/#"
        return CheckResult(f"{label} publish", Status.FAIL, f"test publish failed: {exc}", fix)
    finally:
        await close_client(client)
    return CheckResult(
        f"{label} publish", Status.PASS, f"a QoS 1 test message to {topic} acknowledged"
    )
