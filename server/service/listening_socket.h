// Finds this process's listening TCP sockets on a port and shuts them down.
//
// Why: the metrics endpoint's HTTP server (civetweb, inside prometheus-cpp's
// Exposer) polls its listening socket with a 2 s timeout and looks at its
// stop flag only between polls, so destroying the Exposer took up to 2 s
// (about 1 s on average) after the server had otherwise stopped. A listening
// socket that is shut down wakes that poll at once. The Exposer offers no
// handle to its socket, so it is found by its port among the process's file
// descriptors.
#pragma once

namespace switchyard::server {

// Shuts down (SHUT_RDWR) every socket of this process that listens on TCP
// `port` (IPv4 or IPv6); returns how many it found.
int ShutDownListeningSockets(int port);

}  // namespace switchyard::server
