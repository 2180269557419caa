"""Runs sgwatch's history query (Athena's dialect, Trino) for real: sqlglot
transpiles it to DuckDB, which runs it over a table laid out as the
CloudTrail table AWS documents for Athena (lower-case columns, useridentity a
struct, requestparameters and responseelements JSON text, partitions
account, region and "timestamp" yyyy/MM/dd), loaded from CloudTrail records.

usage: athena_duckdb.py QUERY.sql ROWS.json
ROWS.json: [{"record": {...CloudTrail record...}, "account": ..., "region": ..., "timestamp": "yyyy/MM/dd"}, ...]
Prints the transpiled query on stderr and each selected row's eventid on stdout, one a line."""
import json, sys

import duckdb
import sqlglot

query_file, rows_file = sys.argv[1:3]
trino = open(query_file).read().strip().rstrip(";")
sql = sqlglot.transpile(trino, read="trino", write="duckdb")[0]
print(sql, file=sys.stderr)

ISSUER = "STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, username VARCHAR)"
IDENTITY = ("STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, invokedby VARCHAR, "
            "accesskeyid VARCHAR, username VARCHAR, sessioncontext STRUCT(attributes STRUCT(mfaauthenticated VARCHAR, "
            "creationdate VARCHAR), sessionissuer " + ISSUER + "))")
TEXT = ["eventversion", "eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress", "useragent",
        "errorcode", "errormessage", "requestparameters", "responseelements", "requestid", "eventid", "eventtype",
        "sessioncredentialfromconsole", "recipientaccountid"]
db = duckdb.connect()
db.execute("CREATE SCHEMA cloudtrail")
db.execute("CREATE TABLE cloudtrail.logs (useridentity " + IDENTITY + ", " + ", ".join(c + " VARCHAR" for c in TEXT) +
           ', account VARCHAR, region VARCHAR, "timestamp" VARCHAR)')


def text(v):
    """A column as the JSON SerDe reads it: strings as they are, objects as JSON text."""
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"))


def lower(d):
    """A record's object with its keys in lower case, as the SerDe maps them."""
    return {k.lower(): v for k, v in (d or {}).items()} if isinstance(d, dict) else {}


def identity(u):
    u = lower(u)
    sc = lower(u.get("sessioncontext"))
    attrs, issuer = lower(sc.get("attributes")), lower(sc.get("sessionissuer"))
    pick = lambda d, keys: {k: text(d.get(k)) for k in keys}
    return {**pick(u, ["type", "principalid", "arn", "accountid", "invokedby", "accesskeyid", "username"]),
            "sessioncontext": {"attributes": pick(attrs, ["mfaauthenticated", "creationdate"]),
                               "sessionissuer": pick(issuer, ["type", "principalid", "arn", "accountid", "username"])}}


rows = json.load(open(rows_file))
for r in rows:
    rec = lower(r["record"])
    db.execute("INSERT INTO cloudtrail.logs VALUES (" + ", ".join(["?"] * (len(TEXT) + 4)) + ")",
               [identity(rec.get("useridentity"))] + [text(rec.get(c)) for c in TEXT] + [r["account"], r["region"], r["timestamp"]])
for row in db.execute(sql).fetchall():
    print(row[[d[0] for d in db.description].index("eventid")])
