"""Drives a running `vizhook serve` with the official Tableau Server Client (TSC) 0.42.

Usage: tsc_flow.py SERVER_URL PAT_NAME PAT_SECRET DESTINATION_URL
Exits non-zero, with the failing step named, if vizhook does not behave as Tableau does.
"""

import sys
import uuid

import tableauserverclient as TSC


def step(name):
    print(f"- {name}", flush=True)


def main(server_url, pat_name, pat_secret, destination):
    server = TSC.Server(server_url, use_server_version=True)

    step("a wrong personal access token raises FailedSignInError 401001")
    try:
        server.auth.sign_in(TSC.PersonalAccessTokenAuth(pat_name, "wrong-secret", site_id=""))
        raise AssertionError("sign-in with a wrong secret succeeded")
    except TSC.FailedSignInError as error:
        assert error.code == "401001", f"code was {error.code!r}"

    step("sign in with a personal access token and negotiate the version")
    auth = TSC.PersonalAccessTokenAuth(pat_name, pat_secret, site_id="")
    with server.auth.sign_in(auth):
        assert server.version == "3.24", f"negotiated version {server.version!r}"
        assert server.site_id, "no site id after sign-in"
        assert server.user_id, "no user id after sign-in"

        step("webhooks.create")
        item = TSC.WebhookItem()
        item.name = "tsc-hook"
        item.url = destination
        item.event = "datasource-created"
        created = server.webhooks.create(item)
        assert created.id, "created webhook has no id"
        assert created.name == "tsc-hook", created.name
        assert created.event == "datasource-created", created.event
        assert created.url == destination, created.url
        assert created.owner_id == server.user_id, (created.owner_id, server.user_id)

        step("webhooks.get")
        webhooks, pagination = server.webhooks.get()
        assert [w.id for w in webhooks] == [created.id], [w.id for w in webhooks]
        assert pagination.total_available == 1

        step("webhooks.get_by_id")
        fetched = server.webhooks.get_by_id(created.id)
        assert (fetched.id, fetched.name, fetched.event, fetched.url) == (
            created.id, "tsc-hook", "datasource-created", destination,
        ), vars(fetched)

        step("webhooks.test")
        response = server.webhooks.test(created.id)
        assert response.status_code == 200, response.status_code
        assert 'status="200"' in response.text, response.text

        step("get_by_id of an unknown id raises ServerResponseError with a 404")
        try:
            server.webhooks.get_by_id(str(uuid.uuid4()))
            raise AssertionError("an unknown webhook was found")
        except TSC.ServerResponseError as error:
            assert str(error.code).startswith("404"), error.code

        step("webhooks.delete")
        server.webhooks.delete(created.id)
        remaining, _ = server.webhooks.get()
        assert remaining == [], remaining
        step("sign out")
    assert not server.is_signed_in(), "still signed in after leaving the context"
    print("TSC flow passed", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
