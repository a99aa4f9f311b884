# Fetches two pages from `python -m http.server -d site 8000` with urllib.
import urllib.request

for url in ['http://localhost:8000/', 'http://localhost:8000/hello.txt']:
    with urllib.request.urlopen(url) as response:
        print('GET', url, response.status, response.reason)
        print('  Content-Type:', response.headers['Content-Type'])
        print('  Content-Length:', response.headers['Content-Length'])
        body = response.read().decode('utf-8')
        for line in body.splitlines():
            print('  |', line)
