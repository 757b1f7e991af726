// api/: the Docker Engine API over a unix socket (`berth system service`). A front end only: it
// parses requests, calls the same Engine methods as the CLI, and answers in Docker's shapes.
export { API_VERSION, MIN_API_VERSION } from './_http.js';
export { type ApiServer, type ServeOptions, serveApi, type TcpListen } from './_server.js';
