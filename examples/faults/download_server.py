"""An HTTP server with one 256 KiB file, /data."""
from http.server import BaseHTTPRequestHandler, HTTPServer

BODY = bytes(range(256)) * 1024


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format, *args):
        print(f"[{self.log_date_time_string()}] {format % args}")


print("serving on 8080")
try:
    HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
except KeyboardInterrupt:
    pass
