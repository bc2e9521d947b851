/*
 * dup(fd) -> a new fd for the same socket (close-on-exec), close(fd), and inode(fd) -> the
 * inode fd names (a socket's identity, to recognise a duplicate later).
 *
 * Why: main accepts a connection and reads its CONNECT; the session's thread must then own the
 * socket. Node 20 cannot move a net.Socket between threads, and main cannot just pass its fd
 * number on: closing main's handle would close the connection. With a duplicate, main closes
 * its own fd (no FIN is sent while another fd refers to the socket) and the session thread
 * opens the duplicate with `new net.Socket({ fd })`, the only handle left.
 * close() is for a duplicate whose thread died before adopting it (see fd-handoff.ts).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the one fd argument; throws and returns 0 when it is not a non-negative int32. */
static int fd_argument(napi_env env, napi_callback_info info, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number) {
    napi_throw_type_error(env, NULL, "fd must be a number");
    return 0;
  }
  if (napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0) {
    napi_throw_range_error(env, NULL, "fd must be a non-negative integer");
    return 0;
  }
  return 1;
}

static void throw_errno(napi_env env, int err, const char *syscall) {
  char message[128];
  snprintf(message, sizeof message, "%s: %s", syscall, strerror(err));
  napi_throw_error(env, err == EBADF ? "EBADF" : err == EMFILE ? "EMFILE" : "ERR_FD_HANDOFF", message);
}

static napi_value Dup(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
  /* Close-on-exec: a child process the broker's host starts must not inherit client sockets. */
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    throw_errno(env, errno, "dup");
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, copy, &result);
  return result;
}

static napi_value Close(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
  if (close(fd) < 0 && errno != EINTR) throw_errno(env, errno, "close");
  return NULL;
}

/* fstat's st_ino alone: fs.fstatSync would build a Stats object with four Dates per connection. */
static napi_value Inode(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    throw_errno(env, errno, "fstat");
    return NULL;
  }
  napi_value result;
  napi_create_double(env, (double)st.st_ino, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
    {"dup", NULL, Dup, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"inode", NULL, Inode, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
