"""A client of the weather service: two cities over one keep-alive connection."""

import requests

with requests.Session() as session:
    for city in ("Paris", "Lima"):
        response = session.get("http://localhost:8765/forecast", params={"city": city})
        forecast = response.json()
        print(f"{forecast['city']}: {forecast['sky']}, up to {forecast['high_c']} C "
              f"(HTTP {response.status_code}, {response.headers['Date']})")
