"""``craftvision keys generate``: an Ed25519 key pair for signing inspection records."""

from __future__ import annotations

import json

import typer

app = typer.Typer(
    help="Signing keys for inspection records.\n\n"
    "Example: `craftvision keys generate --out keys/lab01`",
    no_args_is_help=True,
)


@app.command("generate")
def generate(
    out: str = typer.Option(
        ..., "--out", "-o", help="Prefix: writes PREFIX.pem (private) and PREFIX.pub.pem."
    ),
    force: bool = typer.Option(False, "--force", help="Replace existing key files."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Generate an Ed25519 key pair: PREFIX.pem (private, mode 0600) and PREFIX.pub.pem.

    Keep the private key on the certifying PC; give the public key to whoever verifies.

    Example: `craftvision keys generate --out keys/lab01`
    """
    from craftvision.certify.keys import generate_keypair, key_id, load_public_key

    private, public = generate_keypair(out, overwrite=force)
    fingerprint = key_id(load_public_key(public))
    if as_json:
        payload = {"private_key": str(private), "public_key": str(public), "key_id": fingerprint}
        typer.echo(json.dumps(payload))
        return
    typer.echo(f"private key: {private} (keep it secret)")
    typer.echo(f"public key:  {public}")
    typer.echo(f"key id:      {fingerprint}")
