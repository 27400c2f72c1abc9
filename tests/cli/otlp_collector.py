"""A stub OTLP/HTTP collector for tests: listens on 127.0.0.1 (a free port,
written to PORT_FILE), appends each POST /v1/traces JSON body as one line to
OUT_FILE and answers 200 {}. Stops on SIGTERM.

usage: otlp_collector.py PORT_FILE OUT_FILE
"""
import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        ok = self.path == "/v1/traces" and self.headers.get("Content-Type", "").startswith("application/json")
        if ok:
            doc = json.loads(body)
            with open(sys.argv[2], "a") as f:
                f.write(json.dumps(doc) + "\n")
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % srv.server_address[1])
srv.serve_forever()
