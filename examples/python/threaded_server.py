# An echo server with one thread per client, after PyMOTW's socketserver example
# (https://pymotw.com/3/socketserver/), port 10000.
import socketserver
import threading


class ThreadedEchoRequestHandler(socketserver.BaseRequestHandler):

    def handle(self):
        thread_name = threading.current_thread().name
        print(thread_name, 'connection from', self.client_address)
        while True:
            data = self.request.recv(1024)
            if not data:
                break
            print(thread_name, 'received {!r}'.format(data))
            # Echo it back, saying which thread answered
            response = b'%s: %s' % (thread_name.encode(), data)
            self.request.sendall(response)
        print(thread_name, 'done with', self.client_address)


if __name__ == '__main__':
    address = ('localhost', 10000)
    with socketserver.ThreadingTCPServer(address, ThreadedEchoRequestHandler) as server:
        print('serving on {} port {}'.format(*server.server_address))
        server.serve_forever()
