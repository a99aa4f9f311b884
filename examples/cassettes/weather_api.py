"""A stand-in for a real weather service: run it on the host (not under simrun) to
record the cassette again. It answers GET /forecast?city=NAME with JSON."""

import json
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

FORECASTS = {"paris": {"city": "Paris", "sky": "rain", "high_c": 11},
             "lima": {"city": "Lima", "sky": "sun", "high_c": 24}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        forecast = FORECASTS.get(query.get("city", [""])[0].lower())
        body = json.dumps(forecast or {"error": "unknown city"}).encode()
        self.send_response(200 if forecast else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", 8765), Handler).serve_forever()
