"""Runs sgwatch's history query (Athena's dialect, Trino) for real: sqlglot
transpiles it to DuckDB, which runs it over a table loaded from CloudTrail
records in one of two layouts:

- cloudtrail: the CloudTrail table AWS documents for Athena (lower-case
  columns, useridentity a struct, requestparameters and responseelements
  JSON text, partitions account, region and "timestamp" yyyy/MM/dd), as
  cloudtrail.logs;
- ocsf: Amazon Security Lake's CloudTrail management events table, source
  version 2 (OCSF 1.1.0 API Activity, as the OCSF project maps CloudTrail:
  ocsf/examples, mappings/markdown/AWS/v1.1.0/CloudTrail/API Activity/
  README.md), partitions accountid and region, as
  amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0.

usage: athena_duckdb.py [--layout cloudtrail|ocsf] [--rows] QUERY.sql ROWS.json
ROWS.json: [{"record": {...CloudTrail record...}, "account": ..., "region": ..., "timestamp": "yyyy/MM/dd"}, ...]
Prints the transpiled query on stderr; on stdout each selected row's eventid,
one a line, or with --rows the result as Athena gives it: a JSON list of the
columns' names, then of each row's values as text (null for a null).
"""
import argparse
import ipaddress
import json
import sys
from datetime import datetime, timezone

import duckdb
import sqlglot

args = argparse.ArgumentParser()
args.add_argument("--layout", choices=["cloudtrail", "ocsf"], default="cloudtrail")
args.add_argument("--rows", action="store_true")
args.add_argument("query")
args.add_argument("records")
opts = args.parse_args()

trino = open(opts.query).read().strip().rstrip(";")
sql = sqlglot.transpile(trino, read="trino", write="duckdb")[0]
print(sql, file=sys.stderr)


def text(v):
    """A column as the JSON SerDe reads it: strings as they are, objects as JSON text."""
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"))


def lower(d):
    """A record's object with its keys in lower case, as the SerDe maps them."""
    return {k.lower(): v for k, v in (d or {}).items()} if isinstance(d, dict) else {}


db = duckdb.connect()

# The CloudTrail table for Athena.
ISSUER = "STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, username VARCHAR)"
IDENTITY = ("STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, invokedby VARCHAR, "
            "accesskeyid VARCHAR, username VARCHAR, sessioncontext STRUCT(attributes STRUCT(mfaauthenticated VARCHAR, "
            "creationdate VARCHAR), sessionissuer " + ISSUER + "))")
TEXT = ["eventversion", "eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress", "useragent",
        "errorcode", "errormessage", "requestparameters", "responseelements", "requestid", "eventid", "eventtype",
        "sessioncredentialfromconsole", "recipientaccountid"]


def identity(u):
    u = lower(u)
    sc = lower(u.get("sessioncontext"))
    attrs, issuer = lower(sc.get("attributes")), lower(sc.get("sessionissuer"))
    pick = lambda d, keys: {k: text(d.get(k)) for k in keys}
    return {**pick(u, ["type", "principalid", "arn", "accountid", "invokedby", "accesskeyid", "username"]),
            "sessioncontext": {"attributes": pick(attrs, ["mfaauthenticated", "creationdate"]),
                               "sessionissuer": pick(issuer, ["type", "principalid", "arn", "accountid", "username"])}}


def load_cloudtrail(rows):
    db.execute("CREATE SCHEMA cloudtrail")
    db.execute("CREATE TABLE cloudtrail.logs (useridentity " + IDENTITY + ", " + ", ".join(c + " VARCHAR" for c in TEXT) +
               ', account VARCHAR, region VARCHAR, "timestamp" VARCHAR)')
    for r in rows:
        rec = lower(r["record"])
        db.execute("INSERT INTO cloudtrail.logs VALUES (" + ", ".join(["?"] * (len(TEXT) + 4)) + ")",
                   [identity(rec.get("useridentity"))] + [text(rec.get(c)) for c in TEXT] + [r["account"], r["region"], r["timestamp"]])


# Security Lake's table, source version 2.
OCSF = """(
  metadata STRUCT(uid VARCHAR, event_code VARCHAR, product STRUCT(version VARCHAR)),
  actor STRUCT("user" STRUCT(type VARCHAR, uid VARCHAR, uid_alt VARCHAR, name VARCHAR, credential_uid VARCHAR,
               account STRUCT(uid VARCHAR)),
               session STRUCT(issuer VARCHAR, is_mfa BOOLEAN), invoked_by VARCHAR),
  api STRUCT(operation VARCHAR, service STRUCT(name VARCHAR), request STRUCT(uid VARCHAR, data VARCHAR),
             response STRUCT(error VARCHAR, message VARCHAR, data VARCHAR)),
  cloud STRUCT(region VARCHAR),
  src_endpoint STRUCT(ip VARCHAR, domain VARCHAR),
  http_request STRUCT(user_agent VARCHAR),
  "time" BIGINT, time_dt TIMESTAMP,
  unmapped MAP(VARCHAR, VARCHAR),
  accountid VARCHAR, region VARCHAR)"""


def is_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except (TypeError, ValueError):
        return False


def ocsf(rec, account, region):
    """A CloudTrail record as the OCSF mapping puts it; what it does not map goes to unmapped."""
    r = lower(rec)
    u = lower(r.get("useridentity"))
    sc = lower(u.get("sessioncontext"))
    attrs, issuer = lower(sc.get("attributes")), lower(sc.get("sessionissuer"))
    at = datetime.fromisoformat(r["eventtime"].replace("Z", "+00:00")).astimezone(timezone.utc)
    mfa = {"true": True, "false": False}.get(str(attrs.get("mfaauthenticated")).lower())
    src = text(r.get("sourceipaddress"))
    mapped = {"eventversion", "useridentity", "eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress",
              "useragent", "errorcode", "errormessage", "requestparameters", "responseelements", "requestid", "eventid",
              "eventtype"}
    return {
        "metadata": {"uid": text(r.get("eventid")), "event_code": text(r.get("eventtype")),
                     "product": {"version": text(r.get("eventversion"))}},
        "actor": {"user": {"type": text(u.get("type")), "uid": text(u.get("arn")), "uid_alt": text(u.get("principalid")),
                           "name": text(u.get("username")), "credential_uid": text(u.get("accesskeyid")),
                           "account": {"uid": text(u.get("accountid"))}},
                  "session": {"issuer": text(issuer.get("arn")), "is_mfa": mfa},
                  "invoked_by": text(u.get("invokedby"))},
        "api": {"operation": text(r.get("eventname")), "service": {"name": text(r.get("eventsource"))},
                "request": {"uid": text(r.get("requestid")), "data": text(r.get("requestparameters"))},
                "response": {"error": text(r.get("errorcode")), "message": text(r.get("errormessage")),
                             "data": text(r.get("responseelements"))}},
        "cloud": {"region": text(r.get("awsregion"))},
        "src_endpoint": {"ip": src if is_ip(src) else None, "domain": None if is_ip(src) else src},
        "http_request": {"user_agent": text(r.get("useragent"))},
        "time": int(at.timestamp() * 1000), "time_dt": at.replace(tzinfo=None),
        "unmapped": {k: text(v) for k, v in rec.items() if k.lower() not in mapped},
        "accountid": account, "region": region,
    }


def load_ocsf(rows):
    db.execute("CREATE SCHEMA amazon_security_lake_glue_db_us_east_1")
    db.execute("CREATE TABLE amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0 " + OCSF)
    cols = ["metadata", "actor", "api", "cloud", "src_endpoint", "http_request", "time", "time_dt", "unmapped", "accountid", "region"]
    for r in rows:
        o = ocsf(r["record"], r["account"], r["region"])
        db.execute("INSERT INTO amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0 VALUES (" +
                   ", ".join(["?"] * len(cols)) + ")", [o[c] for c in cols])


rows = json.load(open(opts.records))
(load_ocsf if opts.layout == "ocsf" else load_cloudtrail)(rows)
result = db.execute(sql).fetchall()
names = [d[0] for d in db.description]
if opts.rows:
    def athena(v):
        if v is None:
            return None
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)
    json.dump([names] + [[athena(v) for v in row] for row in result], sys.stdout)
else:
    for row in result:
        print(row[names.index("eventid")])
