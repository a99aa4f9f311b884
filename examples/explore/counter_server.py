# A counter kept by a server, port 7000: one thread per client, and two requests,
# "get" (answers the value) and "set N" (stores N, answers "ok"). Each request on its
# own is atomic; a client that increments with a get then a set is not.
import socketserver

count = 0


class CounterHandler(socketserver.StreamRequestHandler):

    def handle(self):
        global count
        for line in self.rfile:
            words = line.split()
            if words == [b'get']:
                self.wfile.write(b'%d\n' % count)
            elif len(words) == 2 and words[0] == b'set':
                count = int(words[1])
                self.wfile.write(b'ok\n')
            else:
                self.wfile.write(b'error: say "get" or "set N"\n')


if __name__ == '__main__':
    with socketserver.ThreadingTCPServer(('localhost', 7000), CounterHandler) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass  # stopped at the end of the run: nothing to report
