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
 *
 * writeBatchShared() is the session thread's per-turn socket write (see socket-writer.ts): one call
 * writes every idle socket's bytes of the turn, instead of one `socket.write` (Writable layer,
 * stream binding, write request, callback) per socket.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: none; Node ignores SIGPIPE anyway, so EPIPE is returned. */
#endif

/* iovecs per sendmsg (Linux's IOV_MAX): more chunks than this for one fd are written in part
 * (the caller hands the rest to its stream); the caller joins a turn's chunks beyond it. */
#define MAX_CHUNKS 1024

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

static int typed_int32(napi_env env, napi_value value, int32_t **data, size_t *length) {
  napi_typedarray_type type;
  void *raw;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "expected an Int32Array");
    return 0;
  }
  *data = raw;
  return 1;
}

/* A Buffer of `chunks`, fetched through N-API once per call however many fds it goes to. */
typedef struct {
  void *data;
  size_t length;
  int fetched;
} chunk_view;

/* Chunks a call fetches without allocating; a larger turn allocates its table (and frees it). */
#define STACK_CHUNKS 128

static int fetch_chunk(napi_env env, napi_value chunks, uint32_t index, chunk_view *view) {
  napi_value chunk;
  if (napi_get_element(env, chunks, index, &chunk) != napi_ok ||
      napi_get_buffer_info(env, chunk, &view->data, &view->length) != napi_ok) {
    napi_throw_type_error(env, NULL, "chunks must be Buffers");
    return 0;
  }
  view->fetched = 1;
  return 1;
}

/*
 * writeBatchShared(fds: Int32Array, counts: Int32Array, refs: Int32Array, chunks: Buffer[],
 *                  n: number, results: Int32Array)
 *
 * For each entry i < n: sends counts[i] buffers to fds[i] with one non-blocking sendmsg, the
 * buffers being chunks[refs[k]] for the next counts[i] values of k, and stores in results[i]
 * the bytes the kernel took (0 when its buffer is full: EAGAIN) or -errno (EPIPE,
 * ECONNRESET...). It never waits and never retries but on EINTR: what is not taken is the
 * caller's to write through the socket's stream.
 *
 * Why refs: one PUBLISH encoded once goes to every subscriber of a fan-out, so a turn's entries
 * mostly share their buffers; each distinct Buffer is fetched from the array once (N-API's
 * element and buffer lookups were ~5 % of a session thread in a steady fan-out, per delivery).
 * An entry's arguments are checked before it is sent, so a bad ref throws after the entries
 * before it went out: their results hold what the kernel took, the refused entry's and every
 * later one's hold 0 (nothing sent), so the caller can hand each entry its result even then.
 *
 * Ownership (the caller's invariant): each fd is a socket the calling thread owns through a
 * live net.Socket whose stream has nothing queued (libuv has no pending write for it), so no
 * other writer's bytes can interleave, and the fd cannot have been closed and reused.
 * MSG_DONTWAIT makes the call non-blocking whatever the fd's flags; MSG_NOSIGNAL turns a closed
 * peer into EPIPE instead of SIGPIPE.
 */
static napi_value WriteBatchShared(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "writeBatchShared(fds, counts, refs, chunks, n, results)");
    return NULL;
  }
  int32_t *fds, *counts, *refs, *results;
  size_t fds_length, counts_length, refs_length, results_length;
  if (!typed_int32(env, argv[0], &fds, &fds_length) || !typed_int32(env, argv[1], &counts, &counts_length) ||
      !typed_int32(env, argv[2], &refs, &refs_length) || !typed_int32(env, argv[5], &results, &results_length)) {
    return NULL;
  }
  uint32_t chunks_length;
  int32_t n;
  if (napi_get_array_length(env, argv[3], &chunks_length) != napi_ok) {
    napi_throw_type_error(env, NULL, "chunks must be an array");
    return NULL;
  }
  if (napi_get_value_int32(env, argv[4], &n) != napi_ok || n < 0 || (size_t)n > fds_length ||
      (size_t)n > counts_length || (size_t)n > results_length) {
    napi_throw_range_error(env, NULL, "n must fit the arrays");
    return NULL;
  }
  chunk_view on_stack[STACK_CHUNKS];
  chunk_view *views = on_stack;
  if (chunks_length > STACK_CHUNKS) {
    views = calloc(chunks_length, sizeof *views);
    if (views == NULL) {
      napi_throw_error(env, "ENOMEM", "writeBatchShared: out of memory");
      return NULL;
    }
  } else {
    memset(on_stack, 0, chunks_length * sizeof *views);
  }
  struct iovec iov[MAX_CHUNKS];
  size_t next = 0;
  int32_t i = 0;
  for (; i < n; i++) {
    int32_t count = counts[i];
    if (count < 0 || (size_t)count > refs_length - next) {
      napi_throw_range_error(env, NULL, "counts exceed refs");
      goto refused;
    }
    int used = 0;
    for (int32_t c = 0; c < count; c++, next++) {
      if (used == MAX_CHUNKS) continue; /* skipped: written by the caller's stream */
      int32_t ref = refs[next];
      if (ref < 0 || (uint32_t)ref >= chunks_length) {
        napi_throw_range_error(env, NULL, "a ref is outside chunks");
        goto refused;
      }
      chunk_view *view = &views[ref];
      if (!view->fetched && !fetch_chunk(env, argv[3], (uint32_t)ref, view)) goto refused;
      if (view->length == 0) continue;
      iov[used].iov_base = view->data;
      iov[used].iov_len = view->length;
      used++;
    }
    if (used == 0) {
      results[i] = 0;
      continue;
    }
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = iov;
    message.msg_iovlen = used;
    ssize_t sent;
    do {
      sent = sendmsg(fds[i], &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent >= 0) {
      /* Linux caps one call at 0x7ffff000 bytes, so this fits; elsewhere, clamp (a partial write). */
      results[i] = sent > INT32_MAX ? INT32_MAX : (int32_t)sent;
    } else {
      results[i] = (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    }
  }
  goto done;
refused:
  /* Entry i was refused before anything of it was sent, and the entries after it were never
   * reached: 0 bytes taken, so the caller writes them through their streams. The entries before
   * it keep what the kernel took: writing those again would send their bytes twice. */
  for (; i < n; i++) results[i] = 0;
done:
  if (views != on_stack) free(views);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
    {"dup", NULL, Dup, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"inode", NULL, Inode, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeBatchShared", NULL, WriteBatchShared, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
