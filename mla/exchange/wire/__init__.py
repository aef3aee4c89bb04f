"""The wire format of the exchange: signed and encrypted messages between authorities,
and their receipts.

A sealed message is one binary OpenPGP message, encrypted to the key the directory pins for
the recipient authority and to the sender's own pinned key (so that the sender's copy, kept
as sent, can be opened again by the sender alone for its evidence). Inside is an
uncompressed POSIX tar archive (ustar) holding, in this order:

    manifest.json        the canonical JSON manifest: sorted keys, no spaces, UTF-8
    manifest.json.sig    a detached binary OpenPGP signature of manifest.json by the sender
    documents/<sha256>   the bytes of each document, named by their SHA-256 (once per content)

With standard tools: ``gpg --decrypt m.mlamsg | tar x``, then ``gpg --verify
manifest.json.sig manifest.json`` and ``sha256sum documents/*``. The manifest signature is
detached so that it stays verifiable on its own in the evidence bundle; documents are bound
to it by their digests.

A receipt is a tar archive (not encrypted) of ``receipt.json`` (canonical JSON: message id,
manifest digest, received at, receiver) and ``receipt.json.sig``, signed by the receiver.

gpg compresses nothing here (``--compress-algo none``): documents are PDFs and scans that do
not shrink, and compressing costs more time than the encryption itself. A message arriving
compressed (made by other software) is still read, up to the size limit.

By concern: ``errors`` (the refusals and their stable codes), ``fields`` (strict reading of
canonical JSON), ``manifest``, ``container`` (the tar archive), ``seal`` (signing,
encryption, sealing and opening), ``receipts``.
"""
