# An asyncio streams echo server that keeps each connection open until the
# client sends an empty line or goes away. After the "TCP echo server" of the
# asyncio documentation (https://docs.python.org/3/library/asyncio-stream.html).
import asyncio


async def handle_echo(reader, writer):
    addr = writer.get_extra_info('peername')
    print(f"Connection from {addr!r}")
    while True:
        data = await reader.read(100)
        message = data.decode()
        if len(message.strip()) == 0:
            print(f"Close the connection to {addr!r}")
            writer.close()
            await writer.wait_closed()
            break

        print(f"Received {message!r} from {addr!r}")
        print(f"Send: {message!r}")
        writer.write(data)
        await writer.drain()


async def main():
    server = await asyncio.start_server(handle_echo, '127.0.0.1', 8888)

    addrs = ', '.join(str(sock.getsockname()) for sock in server.sockets)
    print(f'Serving on {addrs}')

    async with server:
        await server.serve_forever()


asyncio.run(main())
