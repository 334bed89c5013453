"""INSTALL.md of the deployment bundle: a short guide for IT at the outsourcer."""

from __future__ import annotations

__all__ = ["render_guide"]

_UPDATES_ON = """\
`tuf-root.json` is the owner's root of trust for updates. Install it beside the
config (the installers in this bundle's site build carry it). The client checks the
owner's update repository at start and daily and installs only updates signed under
this root (python-tuf); it refuses tampered, older or expired update metadata.
"""

_UPDATES_OFF = """\
Updates are not set up on this server (this bundle has no `tuf-root.json`): install
new client versions the same way as the first. Ask the owner for a new bundle once
updates are set up.
"""

_GUIDE = """\
# Custos agent client: installation for {organisation}

The agent client installed with this bundle connects to **{server_url}** and trusts
only the owner's CA in `ca.pem`, SHA-256 fingerprint:

    {ca_fingerprint}

Nothing in this bundle is secret: `custos-agent.toml` (the deployment config), `ca.pem`
(a public certificate){tuf_line}, this guide, and `SHA256SUMS`.

## 1. Check the bundle

    sha256sum -c SHA256SUMS                      # Linux: every line must say OK
    Get-FileHash -Algorithm SHA256 custos-agent.toml   # Windows: compare with SHA256SUMS

Ask the owner, by another channel (phone, in person), for the SHA-256 of
`SHA256SUMS` itself and compare it with `sha256sum SHA256SUMS`.

## 2. Check the installers' signatures

- **Windows**: the installer (`custos-agent-setup-<version>.exe`) is Authenticode-signed by
  the owner. In PowerShell, `Get-AuthenticodeSignature .\\custos-agent-setup-<version>.exe`
  must say `Valid` with the owner's certificate as signer (or `signtool verify /pa /v`).
  Do not install an installer that is unsigned or signed by anyone else.
- **Linux**: install from the owner's signed apt repository; apt checks the repository's
  signature with the key named in `signed-by=` (get its fingerprint from the owner by
  another channel). A `.deb` handed over as a file comes with a detached signature:
  `gpg --verify <file>.deb.asc <file>.deb` must report a good signature from the owner's key.

## 3. Install

**Windows** (as administrator; for all users):

    custos-agent-setup-<version>.exe /S

installs to `%ProgramFiles%\\Custos Agent` with a Start-menu entry, and the site's config to
`%ProgramData%\\Custos\\custos-agent.toml`, writable only by Administrators and SYSTEM.
An installer built for another site carries another config: to place this bundle's
config yourself (e.g. by Group Policy), as administrator in `cmd`, lock the folder down
first, then copy `custos-agent.toml`{tuf_copy} into it:

    mkdir "%ProgramData%\\Custos"
    icacls "%ProgramData%\\Custos" /setowner *S-1-5-32-544 /T
    icacls "%ProgramData%\\Custos" /inheritance:r /grant:r *S-1-5-32-544:(OI)(CI)F ^
        *S-1-5-18:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX
    copy custos-agent.toml "%ProgramData%\\Custos\\"
{tuf_win}    icacls "%ProgramData%\\Custos\\*" /reset

Uninstall: `"%ProgramFiles%\\Custos Agent\\uninstall.exe" /S` keeps the config;
add `/PURGE` to remove it too.

**Linux** (Debian/Ubuntu):

    sudo apt install custos-agent                  # from the owner's apt repository
    sudo apt install ./custos-agent_<version>_amd64.deb   # or a checked .deb file

If the package does not already carry this site's config, put it in place as root:

    sudo install -D -o root -g root -m 0644 custos-agent.toml /etc/custos-agent/custos-agent.toml
{tuf_install}
The config installed for all users wins over any copy an agent has, so an agent cannot
point the client at another server or switch a protection off.

## 4. Updates

{updates}
## 5. What agents must not be able to change

- Agents work as standard users: no local administrator rights, no sudo.
- The config directory (`%ProgramData%\\Custos`, `/etc/custos-agent`) and its files: only
  Administrators/SYSTEM or root may write them. Check with `icacls "%ProgramData%\\Custos"`
  (Administrators and SYSTEM `F`, Users `RX`, nothing else) or `ls -l /etc/custos-agent`.
- The program folder (`%ProgramFiles%\\Custos Agent`, the package's files on Linux).
- The environment the client starts in: do not set `QT_*` variables (plugin paths,
  platform) for agents; the client refuses to start with a plugin override.

## 6. Check an installed client

    "%ProgramFiles%\\Custos Agent\\custos-agent.exe" --self-test
    custos-agent --self-test

checks the config, the pinned CA, the Qt platform plugin and the keyring, and exits 0.
"""


def render_guide(*, organisation: str, server_url: str, ca_fingerprint: str, updates: bool) -> str:
    """The bundle's INSTALL.md (Markdown).

    Args:
        organisation: The owner's name.
        server_url: The URL agents connect to.
        ca_fingerprint: SHA-256 fingerprint of the owner CA (hex, colon-separated).
        updates: Whether the bundle has ``tuf-root.json``.

    Returns:
        The guide text.
    """
    return _GUIDE.format(
        organisation=organisation,
        server_url=server_url,
        ca_fingerprint=ca_fingerprint,
        tuf_line=", `tuf-root.json` (the update root of trust)" if updates else "",
        tuf_copy=" and `tuf-root.json`" if updates else "",
        tuf_install=(
            "    sudo install -o root -g root -m 0644 tuf-root.json /etc/custos-agent/tuf-root.json\n"
            if updates
            else ""
        ),
        tuf_win='    copy tuf-root.json "%ProgramData%\\Custos\\"\n' if updates else "",
        updates=_UPDATES_ON if updates else _UPDATES_OFF,
    )
