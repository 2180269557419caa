#!/usr/bin/env python3
# Copied unchanged (but for this line and the next) from the project's shared benchmark kit,
# ../shared/bench/coldstart.py, on 2026-12-07; run it through bench/coldstart.sh.
"""Cold start side by side under the Lambda runtime emulator (RIE): each round starts a fresh emulator
with bootstrap A, then one with bootstrap B (A B A B ...), and times the first invocation
(process start + init + one event, including one SNS Publish to a local stub that answers at once)
from the client. Prints medians and the median of the pairwise ratios A/B.

The reference B is hellosns.go.txt beside this file: a minimal aws-lambda-go function that loads the
SDK config and publishes the event to SNS. Build both for this host the way `sam build` builds the
function (CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags=-s), e.g. for the reference:
  mkdir /tmp/hellosns && cp hellosns.go.txt /tmp/hellosns/main.go && cp go.mod go.sum /tmp/hellosns/
  (edit the module line), then: cd /tmp/hellosns && CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags=-s -o bootstrap .
Then: coldstart.py bin/<rie>/aws-lambda-rie bin/linux-amd64/bootstrap events/authorize-ingress-world-ssh.json \
        /tmp/hellosns/bootstrap events/authorize-ingress-world-ssh.json 15
usage: coldstart.py RIE BOOTSTRAP_A EVENT_A BOOTSTRAP_B EVENT_B [ROUNDS]"""
import json, os, signal, socket, statistics, subprocess, sys, time, urllib.request, re

rie, a, ea, b, eb = sys.argv[1:6]

# A stub SNS endpoint that answers Publish at once, so the figure is start-up and one event, not retries.
import http.server, threading
class SNS(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if "json" in (self.headers.get("Content-Type") or ""):
            body, ct = b'{"MessageId":"00000000-0000-0000-0000-000000000000"}', "application/x-amz-json-1.0"
        else:
            body, ct = (b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>'
                        b'00000000-0000-0000-0000-000000000000</MessageId></PublishResult><ResponseMetadata><RequestId>r'
                        b'</RequestId></ResponseMetadata></PublishResponse>'), "text/xml"
        self.send_response(200); self.send_header("Content-Type", ct); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
sns = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SNS)
threading.Thread(target=sns.serve_forever, daemon=True).start()
SNS_URL = "http://127.0.0.1:%d" % sns.server_address[1]
rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 15

def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def one(boot, event):
    rp, ap = port(), port()
    env = dict(os.environ, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
               SNS_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:t", AWS_ENDPOINT_URL_SNS=SNS_URL,
               AWS_LAMBDA_FUNCTION_TIMEOUT="10")
    p = subprocess.Popen([rie, "--runtime-interface-emulator-address", "127.0.0.1:%d" % rp,
                          "--runtime-api-address", "127.0.0.1:%d" % ap, boot], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.time() + 10
        while time.time() < end:
            try: socket.create_connection(("127.0.0.1", rp), timeout=0.2).close(); break
            except OSError: time.sleep(0.005)
        data = open(event, "rb").read()
        t0 = time.perf_counter()
        req = urllib.request.Request("http://127.0.0.1:%d/2015-03-31/functions/function/invocations" % rp, data=data)
        body = urllib.request.urlopen(req, timeout=15).read()
        dt = (time.perf_counter() - t0) * 1000
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        out = p.communicate()[0].decode(errors="replace")
    m = re.search(r"Init Duration: ([0-9.]+) ms", out)
    return dt, (float(m.group(1)) if m else None), body[:200]

ta, tb, ia, ib, ratios = [], [], [], [], []
for r in range(rounds + 1):
    x = one(a, ea); y = one(b, eb)
    if r == 0:
        print("warm-up: A body", x[2], "B body", y[2]); continue
    ta.append(x[0]); tb.append(y[0]); ratios.append(x[0] / y[0])
    if x[1] is not None: ia.append(x[1])
    if y[1] is not None: ib.append(y[1])
med = statistics.median
print("first invocation, client-side ms: A median %.1f (min %.1f max %.1f)  B median %.1f (min %.1f max %.1f)" % (
    med(ta), min(ta), max(ta), med(tb), min(tb), max(tb)))
if ia and ib: print("emulator Init Duration ms: A median %.1f  B median %.1f" % (med(ia), med(ib)))
print("ratio A/B pairwise median %.2f (min %.2f max %.2f) over %d rounds" % (med(ratios), min(ratios), max(ratios), rounds))
