"""The decision service, `policydsl serve` (the [serve] extra): the only package that imports starlette and uvicorn.

- `app`: the Starlette application, its endpoints and their errors (the command line's error JSON);
- `book`: the book being served and its hot reload (a clean edit swapped in whole, a broken one refused);
- `server`: the token, the listening socket and uvicorn."""
