"""Issue 22, item 3: actor configs as Abaco serves them (TACC/abaco prod-v3 actors/controllers.py
``ActorConfigsResource``/``ActorConfigResource``/``ActorConfigsPermissionsResource``, auth.py 278-293,
docker_utils.py ``execute_actor``), the cases of Abaco's own ``tests/test_configs.py`` (v3) and the config tests
of ``tests/test_abaco_core.py`` (v2) included, and the client's config calls on both flavors."""

from __future__ import annotations

from collections.abc import Callable

from swan_jupyter.actors import Actors
from swan_jupyter.redact import redact
from tests.sandbox.abaco_tools import AbacoServer, Api


def test_abacos_own_config_cases(make: Callable[..., Api], flavor: str) -> None:
    admin, user = make("admin", flavor), make("user", flavor)
    secret_key = admin.k("is_secret")
    aid = admin.create(image="jstubbs/abaco_test", name=f"cfg-{flavor}", stateless=False)["id"]
    aid2 = admin.create(image="abacosamples/test", name=f"cfg2-{flavor}")["id"]
    name = f"the_config_{flavor}"
    made = admin.ok("POST", "/configs", json={"name": name, "value": "my value", "actors": aid, secret_key: False})
    assert made == {"actors": aid, secret_key: False, "name": name, "value": "my value"}
    secret = admin.ok("POST", "/configs", data={"name": f"another_{flavor}", "value": "my value", "actors": aid,
                                                secret_key: "true"})
    assert secret[secret_key] is True and secret["value"] != "my value"
    multi = admin.ok("POST", "/configs", data={"name": f"multi_{flavor}", "value": "v", secret_key: "true",
                                               "actors": f"{aid}, {aid2}"})
    assert multi["actors"] == f"{aid}, {aid2}"
    assert admin.call("POST", "/configs", data={"name": "x", "value": "v", "actors": "henry",
                                                secret_key: "true"}).status_code == 404
    assert name in {c["name"] for c in admin.ok("GET", "/configs")}
    assert admin.ok("GET", f"/configs/{name}")[secret_key] is False
    # a regular user may attach a config to an actor it cannot update (Abaco's check_permissions only returns False)
    user.ok("POST", "/configs", data={"name": f"limited_{flavor}", "value": "v", "actors": aid, secret_key: "true"})
    updated = admin.ok("PUT", f"/configs/{name}", data={"name": name, "value": "my value",
                                                        "actors": f"{aid}, {aid2}", secret_key: "true"})
    assert updated[secret_key] is True
    assert user.error("PUT", f"/configs/{name}", data={"name": name, "value": "v", "actors": aid,
                                                       secret_key: "true"}) == \
        "You do not have sufficient access to this actor config."


def test_config_refusals_permissions_and_delete(make: Callable[..., Api], flavor: str) -> None:
    admin, user, other = make("admin", flavor), make("user", flavor), make("user2", flavor)
    key = user.k("is_secret")
    aid = user.create(image="jstubbs/abaco_test")["id"]
    assert user.error("POST", "/configs", json={"name": "n", "value": "v", "actors": aid}) == \
        f"Invalid config description. Missing required field: {({key: HELP_SECRET})}"
    assert user.error("POST", "/configs", json={"name": "logs", "value": "v", "actors": aid, key: False}).startswith(
        "logs is a reserved word.")
    assert user.error("POST", "/configs", json={"name": "a:b", "value": "v", "actors": aid, key: False}).startswith(
        "':' is a forbidden character.")
    name = f"perm_{flavor}"
    user.ok("POST", "/configs", json={"name": name, "value": "v", "actors": aid, key: False})
    assert user.error("POST", "/configs", json={"name": name, "value": "v", "actors": aid, key: False}) == \
        f"Config {name} already exists; please choose another name for your config"
    assert other.error("GET", f"/configs/{name}") == "You do not have sufficient access to this actor config."
    assert other.error("GET", "/configs/nothing-here") == "Config DEV_nothing-here does not exist"
    assert admin.error("GET", "/configs/nothing-here", 404) == "No config found: nothing-here."
    assert user.ok("POST", f"/configs/{name}/permissions", json={"user": "testotheruser", "level": "READ"}) == \
        {"jdoe": "UPDATE", "testotheruser": "READ"}
    assert other.ok("GET", f"/configs/{name}")["name"] == name
    assert other.error("DELETE", f"/configs/{name}") == "You do not have sufficient access to this actor config."
    assert user.ok("DELETE", f"/configs/{name}") is None
    assert admin.error("DELETE", f"/configs/{name}", 404) == f"No config found with name: {name}."


HELP_SECRET = "Whether the config should be encrypted at rest and not retrievable."


def test_configs_reach_executions_by_id_and_alias(make: Callable[..., Api]) -> None:
    """docker_utils.py: ``_actor_configs`` holds every config naming the actor or one of its aliases, secrets
    decrypted; docker-py writes the dict with ``str()``."""
    api = make("user", "v3")
    aid = api.create(image="jstubbs/abaco_test")["id"]
    api.ok("POST", "/aliases", json={"alias": "cfg-target", "actor_id": aid})
    api.ok("POST", "/configs", json={"name": "plain_d", "value": "p1", "actors": aid, "is_secret": False})
    api.ok("POST", "/configs", json={"name": "secret_d", "value": "s3cr3t-v", "actors": "cfg-target",
                                     "is_secret": True})
    eid = api.send(aid, "x")
    api.wait_execution(aid, eid)
    assert "_actor_configs={'plain_d': 'p1', 'secret_d': 's3cr3t-v'}" in api.logs(aid, eid)


def test_client_config_calls_on_both_flavors(abaco: AbacoServer, flavor: str) -> None:
    client = Actors(abaco.url, token=abaco.token("user"), flavor=flavor)  # type: ignore[arg-type]
    try:
        actor = client.add({"image": "jstubbs/abaco_test"})
        name = f"client_{flavor}"
        made = client.create_config(name, "hunter2-value", actors=[str(actor.id)], is_secret=True)
        assert made.name == name and made.is_secret is True and made.actors == [str(actor.id)]
        assert "hunter2-value" not in repr(made) and "hunter2-value" not in redact("token hunter2-value")
        assert name in {c.name for c in client.list_configs()}
        assert client.get_config(name).is_secret is True
        changed = client.update_config(name, value="plain", is_secret=False)
        assert changed.value == "plain" and changed.actors == [str(actor.id)]
        assert client.grant_config(name, "testotheruser", "READ") == {"jdoe": "UPDATE", "testotheruser": "READ"}
        assert client.get_config_permissions(name)["testotheruser"] == "READ"
        client.delete_config(name)
        assert name not in {c.name for c in client.list_configs()}
    finally:
        client.close()
