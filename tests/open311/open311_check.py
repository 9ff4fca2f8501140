#!/usr/bin/env python3
"""Checks cityops' Open311 GeoReport v2 endpoints, for tests/e2e/open311.rs.

    open311_check.py spec BASE API_KEY
        Every endpoint in both formats against the field lists and types of the GeoReport v2
        specification, and the specification's errors for bad requests. Prints one JSON object:
        {"filed": [ids of the requests it filed], "checked": n}. Exits 1 with the reasons when
        anything does not hold.

    open311_check.py file BASE API_KEY
        With civicbot (PyPI, used unchanged): lists the services, reads a definition, files a
        request and reads it back. Prints {"service_request_id": ..., "status": ...}.

    open311_check.py status BASE ID
        With civicbot: the status of a request. Prints {"status": ..., "status_notes": ...,
        "agency_responsible": ...}.

Only the standard library and civicbot.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime

PROBLEMS = []
CHECKED = 0


def fail(what):
    PROBLEMS.append(what)


def http(method, url, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8")


# The specification's fields: name -> type (str, bool, int, float, "w3c", "list", "object"),
# and whether it may be absent or empty.
SERVICE = {"service_code": str, "service_name": str, "description": str, "metadata": bool,
           "type": str, "keywords": str, "group": str}
ATTRIBUTE = {"variable": bool, "code": str, "datatype": str, "required": bool,
             "datatype_description": (str, None), "order": int, "description": str, "values": "list"}
REQUEST = {"service_request_id": str, "status": str, "status_notes": (str, None),
           "service_name": str, "service_code": str, "description": (str, None),
           "agency_responsible": (str, None), "service_notice": (str, None),
           "requested_datetime": "w3c", "updated_datetime": "w3c",
           "expected_datetime": ("w3c", None), "address": (str, None),
           "address_id": (str, None), "zipcode": (str, None), "lat": (float, None),
           "long": (float, None), "media_url": (str, None)}
POSTED = {"service_request_id": str, "service_notice": (str, None), "account_id": (str, None)}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def is_w3c(text):
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return False
    return t.tzinfo is not None


def check_value(where, name, kind, value):
    optional = isinstance(kind, tuple)
    kinds = kind if optional else (kind,)
    if value is None:
        if not optional:
            fail(f"{where}: {name} is missing or null")
        return
    for k in kinds:
        if k is None:
            continue
        if k == "w3c" and isinstance(value, str) and is_w3c(value):
            return
        if k is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return
        if k is int and isinstance(value, int) and not isinstance(value, bool):
            return
        if k in (str, bool) and isinstance(value, k):
            return
        if k == "list" and isinstance(value, list):
            return
    fail(f"{where}: {name} = {value!r} is not {kinds}")


def check_fields(where, spec, obj):
    global CHECKED
    CHECKED += 1
    if not isinstance(obj, dict):
        fail(f"{where}: not an object: {obj!r}")
        return
    for name, kind in spec.items():
        check_value(where, name, kind, obj.get(name))
    extra = set(obj) - set(spec)
    if extra:
        fail(f"{where}: fields not in the specification: {sorted(extra)}")


# XML: the same fields, every value text; lists are wrapper elements.
def xml_obj(elem, lists=()):
    out = {}
    for child in elem:
        if child.tag in lists:
            out[child.tag] = [xml_obj(c, lists) for c in child]
        else:
            out[child.tag] = child.text
    return out


def typed_from_xml(spec, obj):
    """The XML strings as the JSON types the specification names (empty element = null)."""
    typed = {}
    for name, text in obj.items():
        kind = spec.get(name, str)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(text, list) or text is None:
            typed[name] = text
        elif bool in kinds:
            typed[name] = {"true": True, "false": False}.get(text, text)
        elif int in kinds:
            typed[name] = int(text) if text.isdigit() else text
        elif float in kinds:
            try:
                typed[name] = float(text)
            except ValueError:
                typed[name] = text
        else:
            typed[name] = text
    return typed


def get_json(base, path, expect=200):
    status, ctype, body = http("GET", f"{base}/{path}")
    if status != expect:
        fail(f"GET {path}: {status} (expected {expect}): {body[:300]}")
        return None
    if not ctype.startswith("application/json"):
        fail(f"GET {path}: Content-Type {ctype}")
    return json.loads(body)


def get_xml(base, path, expect=200):
    status, ctype, body = http("GET", f"{base}/{path}")
    if status != expect:
        fail(f"GET {path}: {status} (expected {expect}): {body[:300]}")
        return None
    if not ctype.startswith("text/xml"):
        fail(f"GET {path}: Content-Type {ctype}")
    if not body.startswith('<?xml version="1.0" encoding="utf-8"?>'):
        fail(f"GET {path}: no UTF-8 XML declaration")
    return ET.fromstring(body.encode("utf-8"))


def check_errors(where, status, ctype, body, expect):
    global CHECKED
    CHECKED += 1
    if status != expect:
        fail(f"{where}: {status}, expected {expect}: {body[:300]}")
        return
    if ctype.startswith("application/json"):
        errs = json.loads(body)
        if not (isinstance(errs, list) and errs and all(
                isinstance(e.get("code"), int) and isinstance(e.get("description"), str) and e["description"]
                for e in errs)):
            fail(f"{where}: not [{{code, description}}]: {body}")
    else:
        root = ET.fromstring(body.encode("utf-8"))
        if root.tag != "errors" or not [e for e in root if e.tag == "error" and e.findtext("code") and e.findtext("description")]:
            fail(f"{where}: not <errors><error><code/><description/>: {body}")


def spec(base, key):
    filed = []
    # Discovery.
    d = get_json(base, "discovery.json")
    if d is not None:
        for f in ("changeset", "contact", "key_service", "endpoints"):
            if f not in d:
                fail(f"discovery.json: no {f}")
        for ep in d.get("endpoints", []):
            for f in ("specification", "url", "changeset", "type", "formats"):
                if f not in ep:
                    fail(f"discovery.json endpoint: no {f}")
    x = get_xml(base, "discovery.xml")
    if x is not None and (x.tag != "discovery" or x.find("endpoints/endpoint/formats/format") is None):
        fail("discovery.xml: not <discovery><endpoints><endpoint><formats><format>")

    # Services, both formats, the same list.
    services = get_json(base, "services.json") or []
    if not isinstance(services, list) or not services:
        fail("services.json: not a non-empty list")
        services = []
    for s in services:
        check_fields(f"services.json {s.get('service_code')}", SERVICE, s)
        if s.get("type") not in ("realtime", "batch", "blackbox"):
            fail(f"services.json: type {s.get('type')}")
    x = get_xml(base, "services.xml")
    if x is not None:
        if x.tag != "services":
            fail("services.xml: root is not <services>")
        xs = [typed_from_xml(SERVICE, xml_obj(e)) for e in x if e.tag == "service"]
        if [s["service_code"] for s in xs] != [s["service_code"] for s in services]:
            fail("services.xml and services.json list different services")
        for s in xs:
            check_fields(f"services.xml {s.get('service_code')}", SERVICE, s)
    codes = {s["service_code"] for s in services}
    for must in ("illegal_parking", "road_damage"):
        if must not in codes:
            fail(f"services: no {must}")
    if "fire" in codes or "unclassified" in codes:
        fail("services: emergencies and the triage queue are not Open311 services")

    # Service definitions.
    for code in ("road_damage", "illegal_parking"):
        defn = get_json(base, f"services/{code}.json")
        if defn is None:
            continue
        if not isinstance(defn, dict) or defn.get("service_code") != code or not isinstance(defn.get("attributes"), list):
            fail(f"services/{code}.json: not a definition object: {defn}")
            continue
        orders = []
        for a in defn["attributes"]:
            check_fields(f"services/{code}.json attribute {a.get('code')}", ATTRIBUTE, a)
            if a.get("datatype") not in DATATYPES:
                fail(f"services/{code}.json: datatype {a.get('datatype')}")
            orders.append(a.get("order"))
            for v in a.get("values", []):
                if set(v) != {"key", "name"}:
                    fail(f"services/{code}.json: a value is not {{key, name}}: {v}")
        if len(set(orders)) != len(orders):
            fail(f"services/{code}.json: attribute orders are not unique")
        x = get_xml(base, f"services/{code}.xml")
        if x is not None:
            if x.tag != "service_definition" or x.findtext("service_code") != code:
                fail(f"services/{code}.xml: not <service_definition> of {code}")
            for a in x.findall("attributes/attribute"):
                check_fields(f"services/{code}.xml attribute", ATTRIBUTE,
                             typed_from_xml(ATTRIBUTE, xml_obj(a, ("values",))))
    status, ctype, body = http("GET", f"{base}/services/teleport.json")
    check_errors("services/teleport.json", status, ctype, body, 404)
    status, ctype, body = http("GET", f"{base}/services/teleport.xml")
    check_errors("services/teleport.xml", status, ctype, body, 404)

    # Filing, both formats.
    good = {"api_key": key, "service_code": "road_damage", "lat": "41.7962", "long": "123.3589",
            "address_string": "铁西区兴华南街58号", "description": "兴华南街路面塌陷一个大坑，车辆绕行",
            "attribute[size]": "medium", "first_name": "明", "last_name": "李",
            "phone": "13800001234", "email": "li@example.org"}
    for fmt in ("json", "xml"):
        status, ctype, body = http("POST", f"{base}/requests.{fmt}", good)
        if status not in (200, 201):
            fail(f"POST requests.{fmt}: {status}: {body[:300]}")
            continue
        if fmt == "json":
            answer = json.loads(body)
            if not (isinstance(answer, list) and len(answer) == 1):
                fail(f"POST requests.json: not a list of one: {body}")
                continue
            check_fields("POST requests.json", POSTED, answer[0])
            filed.append(answer[0]["service_request_id"])
        else:
            root = ET.fromstring(body.encode("utf-8"))
            req = root.find("request")
            if root.tag != "service_requests" or req is None:
                fail(f"POST requests.xml: not <service_requests><request>: {body}")
                continue
            check_fields("POST requests.xml", POSTED, typed_from_xml(POSTED, xml_obj(req)))
            filed.append(req.findtext("service_request_id"))

    # Bad requests: the specification's errors, and nothing filed.
    bad = [
        ("unknown service code", dict(good, service_code="teleport"), 404),
        ("no location", {k: v for k, v in good.items() if k not in ("lat", "long", "address_string")}, 400),
        ("missing api_key", {k: v for k, v in good.items() if k != "api_key"}, 403),
        ("wrong api_key", dict(good, api_key="not-a-key"), 403),
        ("description over 4,000 characters", dict(good, description="坑" * 4001), 400),
        ("a required attribute missing", {k: v for k, v in good.items() if k != "attribute[size]"}, 400),
        ("an attribute value not in its list", dict(good, **{"attribute[size]": "huge"}), 400),
        ("no service code", {k: v for k, v in good.items() if k != "service_code"}, 400),
    ]
    for what, form, expect in bad:
        for fmt in ("json", "xml"):
            status, ctype, body = http("POST", f"{base}/requests.{fmt}", form)
            check_errors(f"POST requests.{fmt} with {what}", status, ctype, body, expect)

    # Reading back, both formats: by id, and as a list with the specification's filters.
    for rid in filed:
        one = get_json(base, f"requests/{rid}.json")
        if not (isinstance(one, list) and len(one) == 1):
            fail(f"requests/{rid}.json: not a list of one: {one}")
        else:
            check_fields(f"requests/{rid}.json", REQUEST, one[0])
            if one[0].get("service_request_id") != rid or one[0].get("status") not in ("open", "closed"):
                fail(f"requests/{rid}.json: {one[0]}")
        x = get_xml(base, f"requests/{rid}.xml")
        if x is not None:
            reqs = x.findall("request")
            if x.tag != "service_requests" or len(reqs) != 1:
                fail(f"requests/{rid}.xml: not <service_requests> with one <request>")
            else:
                check_fields(f"requests/{rid}.xml", REQUEST, typed_from_xml(REQUEST, xml_obj(reqs[0])))
    listed = get_json(base, "requests.json?service_request_id=" + ",".join(filed)) or []
    if sorted(r.get("service_request_id") for r in listed) != sorted(filed):
        fail(f"requests.json?service_request_id=: {listed}")
    for r in listed:
        check_fields("requests.json", REQUEST, r)
    for path, expect in [("requests.json?status=pending", 400), ("requests.xml?start_date=yesterday", 400),
                         ("requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400),
                         ("requests/SY311-00000000-000000000000.json", 404),
                         ("requests/SY311-00000000-000000000000.xml", 404),
                         ("tokens/nope.json", 404), ("services.json?jurisdiction_id=beijing", 404)]:
        status, ctype, body = http("GET", f"{base}/{path}")
        check_errors(f"GET {path}", status, ctype, body, expect)
    for rid in filed[:1]:
        for fmt in ("json", "xml"):
            status, ctype, body = http("GET", f"{base}/tokens/{rid}.{fmt}")
            if status != 200 or rid not in body:
                fail(f"tokens/{rid}.{fmt}: {status} {body[:200]}")
    return filed


def civicbot_client(base):
    from civicbot import Endpoint, HttpTransport, Open311Client
    from civicbot.http import RateLimiter

    endpoint = Endpoint(id="cityops", name="cityops", base_url=base, write=True)
    return Open311Client(endpoint, transport=HttpTransport(timeout=20, rate_limiter=RateLimiter(min_interval=0)))


def file_with_civicbot(base, key):
    from civicbot.open311 import CONFIRM_TOKEN

    client = civicbot_client(base)
    services = client.list_services()
    assert any(s["service_code"] == "illegal_parking" for s in services), services
    client.get_service_definition("illegal_parking")
    sent = client.create_request(
        "illegal_parking", dry_run=False, confirm=CONFIRM_TOKEN, api_key=key,
        lat=41.7962, lng=123.3589, address_string="沈阳市铁西区兴华南街",
        description="一辆白色轿车长时间占用人行道违停，挡住行人。", first_name="明", last_name="李",
        phone="13800001234", attributes={"plate": "辽A12345"}, validate_remote=True)
    rid = sent.response[0]["service_request_id"]
    request = client.get_request(rid)
    return {"service_request_id": rid, "status": request["status"]}


def status_with_civicbot(base, rid):
    request = civicbot_client(base).get_request(rid)
    return {k: request.get(k) for k in ("status", "status_notes", "agency_responsible", "service_code",
                                        "expected_datetime", "updated_datetime")}


def main(argv):
    if len(argv) != 4 or argv[1] not in ("spec", "file", "status"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, base = argv[1], argv[2].rstrip("/")
    if mode == "spec":
        filed = spec(base, argv[3])
        if PROBLEMS:
            print("\n".join(PROBLEMS), file=sys.stderr)
            return 1
        print(json.dumps({"filed": filed, "checked": CHECKED}))
    elif mode == "file":
        print(json.dumps(file_with_civicbot(base, argv[3]), ensure_ascii=False))
    else:
        print(json.dumps(status_with_civicbot(base, argv[3]), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
