#include "server/service/listening_socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

namespace switchyard::server {
namespace {

// A socket listening on an ephemeral loopback port; returns the fd and sets `port`.
int Listen(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(listen(fd, 4), 0);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

TEST(ListeningSocketTest, ShuttingDownWakesAPollOnTheListener) {
  int port = 0;
  const int fd = Listen(port);
  int other_port = 0;
  const int other = Listen(other_port);
  // What civetweb's accept loop does: poll the listener with a long timeout.
  auto woken = std::async(std::launch::async, [fd] {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 30'000);
  });
  EXPECT_EQ(woken.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  EXPECT_EQ(ShutDownListeningSockets(port), 1);
  ASSERT_EQ(woken.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "the poll was not woken";
  EXPECT_EQ(woken.get(), 1);
  // Only the socket on that port: another listener still accepts connections.
  pollfd p{other, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  int accepting = 0;
  socklen_t size = sizeof accepting;
  EXPECT_EQ(getsockopt(other, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size), 0);
  EXPECT_EQ(accepting, 1);
  close(fd);
  close(other);
}

TEST(ListeningSocketTest, NothingListensOnThePort) {
  int port = 0;
  const int fd = Listen(port);
  close(fd);
  EXPECT_EQ(ShutDownListeningSockets(port), 0);
}

}  // namespace
}  // namespace switchyard::server
