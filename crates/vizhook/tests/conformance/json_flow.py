"""Drives a running `vizhook serve` over plain HTTP in JSON, the way Postman and scripts do.

Usage: json_flow.py SERVER_URL PAT_NAME PAT_SECRET DESTINATION_URL
"""

import sys

import requests

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def step(name):
    print(f"- {name}", flush=True)


def expect(response, status):
    assert response.status_code == status, f"{response.status_code} != {status}: {response.text}"
    assert response.status_code == 204 or response.headers["Content-Type"] == "application/json;charset=utf-8"
    return response.json() if response.content else None


def main(server, pat_name, pat_secret, destination):
    api = f"{server}/api/3.9"
    step("sign in")
    body = {"credentials": {"site": {"contentUrl": ""},
                            "personalAccessTokenName": pat_name, "personalAccessTokenSecret": pat_secret}}
    credentials = expect(requests.post(f"{api}/auth/signin", json=body, headers=JSON), 200)["credentials"]
    headers = dict(JSON, **{"X-Tableau-Auth": credentials["token"]})
    hooks = f"{api}/sites/{credentials['site']['id']}/webhooks"

    step("create with the event attribute")
    body = {"webhook": {"webhook-destination": {"webhook-destination-http": {"method": "POST", "url": destination}},
                        "event": "DatasourceRefreshFailed", "name": "json-hook"}}
    webhook = expect(requests.post(hooks, json=body, headers=headers), 201)["webhook"]
    assert webhook["event"] == "DatasourceRefreshFailed" and webhook["isEnabled"] is True, webhook
    assert webhook["webhook-source"] == {"webhook-source-event-datasource-refresh-failed": {}}, webhook
    hook = f"{hooks}/{webhook['id']}"

    step("list and get")
    listed = expect(requests.get(hooks, headers=headers), 200)
    assert [w["id"] for w in listed["webhooks"]["webhook"]] == [webhook["id"]], listed
    assert expect(requests.get(hook, headers=headers), 200)["webhook"] == webhook

    step("disable with a reason")
    body = {"webhook": {"isEnabled": "false", "statusChangeReason": "receiver down for maintenance"}}
    updated = expect(requests.put(hook, json=body, headers=headers), 200)["webhook"]
    assert updated["isEnabled"] is False, updated
    assert updated["statusChangeReason"] == "receiver down for maintenance", updated

    step("a reason with isEnabled=true is refused with 400127")
    body = {"webhook": {"isEnabled": "true", "statusChangeReason": "nope"}}
    error = expect(requests.put(hook, json=body, headers=headers), 400)["error"]
    assert error["code"] == "400127", error

    step("enable again")
    body = {"webhook": {"isEnabled": "true", "statusChangeReason": ""}}
    enabled = expect(requests.put(hook, json=body, headers=headers), 200)["webhook"]
    assert enabled["isEnabled"] is True and enabled["statusChangeReason"] == "", enabled

    step("test")
    result = expect(requests.get(f"{hook}/test", headers=headers), 200)["webhookTestResult"]
    assert result["status"] == "200" and result["id"] == webhook["id"], result

    step("delete, then the webhook is gone")
    expect(requests.delete(hook, headers=headers), 204)
    error = expect(requests.get(hook, headers=headers), 404)["error"]
    assert error["code"].startswith("404"), error

    step("sign out")
    expect(requests.post(f"{api}/auth/signout", headers=headers), 204)
    error = expect(requests.get(hooks, headers=headers), 401)["error"]
    assert error["code"] == "401002", error
    print("JSON flow passed", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
