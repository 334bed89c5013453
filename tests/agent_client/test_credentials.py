import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import pytest

from agent_client.credentials import (
    SERVICE_NAME,
    CredentialStore,
    DeviceIdentity,
    MemoryKeyring,
    check_backend,
    new_device_key,
)
from agent_client.errors import CredentialStoreUnavailable

URL = "https://custos.test:8443"


@pytest.fixture
def restore_keyring():
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def test_identity_round_trips_through_memory_keyring():
    store = CredentialStore(URL, MemoryKeyring())
    assert store.load() is None
    identity = DeviceIdentity(device_id="dev-1", login="agent.one", private_key=new_device_key())
    store.save(identity)
    loaded = store.load()
    assert loaded is not None
    assert (loaded.device_id, loaded.login) == ("dev-1", "agent.one")
    loaded.private_key.public_key().verify(identity.sign(b"challenge"), b"challenge")


def test_stores_are_separate_per_server():
    backend = MemoryKeyring()
    CredentialStore(URL, backend).save(DeviceIdentity("dev-1", "a", new_device_key()))
    assert CredentialStore("https://other.test", backend).load() is None


def test_forget_removes_identity():
    store = CredentialStore(URL, MemoryKeyring())
    store.save(DeviceIdentity("dev-1", "a", new_device_key()))
    store.forget()
    store.forget()
    assert store.load() is None


def test_repr_hides_private_key():
    identity = DeviceIdentity("dev-1", "a", new_device_key())
    assert "private_key" not in repr(identity)


def test_fails_closed_with_fail_backend(restore_keyring):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(CredentialStoreUnavailable, match="no OS keyring"):
        CredentialStore(URL)


class PlaintextKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise AssertionError("must never be called")

    def delete_password(self, service, username):
        return None


PlaintextKeyring.__module__ = "keyrings.alt.file"


class LowPriorityKeyring(PlaintextKeyring):
    priority = 0


LowPriorityKeyring.__module__ = "vendor.backend"


@pytest.mark.parametrize(
    "backend",
    [keyring.backends.fail.Keyring(), keyring.backends.null.Keyring(), PlaintextKeyring(), LowPriorityKeyring()],
    ids=["fail", "null", "plaintext", "priority0"],
)
def test_unsafe_backends_are_refused(backend):
    with pytest.raises(CredentialStoreUnavailable):
        check_backend(backend)


def test_damaged_secret_is_reported():
    backend = MemoryKeyring()
    backend.set_password(SERVICE_NAME, f"device@{URL}", "{not json")
    with pytest.raises(CredentialStoreUnavailable, match="damaged"):
        CredentialStore(URL, backend).load()
