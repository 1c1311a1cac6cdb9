/* Upload load generator for bench/files.sh: sends one file through the
 * chunk API (multipart or raw PUT, several keep-alive connections, each
 * taking the next chunk) or through one tus PATCH, with sendfile(2) from
 * the source file, so that the client costs almost nothing next to the
 * server processes being measured.
 *
 *   upload multipart|raw PORT TOKEN FILE CHUNK_BYTES CONNS UPLOAD_ID
 *   upload tus       PORT TOKEN FILE PATH
 *
 * Exits 0 when every request answered 2xx; otherwise prints the first
 * failing answer and exits 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOUNDARY "hsbench7MA4YWxkTrZu0gW"

static const char *mode, *token, *upload_id, *tus_path;
static int port, file_fd;
static int64_t file_size, chunk_size, chunk_count;
static atomic_long next_chunk;
static atomic_int failed;

static void fail(const char *what, const char *detail)
{
    if (atomic_exchange(&failed, 1) == 0)
        fprintf(stderr, "upload: %s: %s\n", what, detail);
}

static int connect_front(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fail("connect", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_file_range(int fd, int64_t off, int64_t len)
{
    off_t o = (off_t)off;
    while (len > 0) {
        ssize_t w = sendfile(fd, file_fd, &o, (size_t)(len > (1 << 30) ? (1 << 30) : len));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        len -= w;
    }
    return 0;
}

/* Reads one answer (headers and a Content-Length body); 0 on 2xx. */
static int read_answer(int fd)
{
    char buf[8192];
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r <= 0) {
            fail("read", r == 0 ? "connection closed" : strerror(errno));
            return -1;
        }
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (!end && have == sizeof buf - 1) {
            fail("read", "headers too long");
            return -1;
        }
    }
    int status = atoi(buf + 9);
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    long body = cl ? atol(cl + 17) : 0;
    long got = (long)(have - (size_t)(end + 4 - buf));
    while (got < body) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            break;
        got += r;
    }
    if (status < 200 || status > 299) {
        buf[have < 600 ? have : 600] = '\0';
        fail("answer", buf);
        return -1;
    }
    return 0;
}

static int send_chunk(int fd, int64_t n)
{
    int64_t off = n * chunk_size;
    int64_t len = file_size - off < chunk_size ? file_size - off : chunk_size;
    char head[1024], pre[512];
    int hl;
    if (strcmp(mode, "multipart") == 0) {
        int pl = snprintf(
            pre, sizeof pre,
            "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"upload_id\"\r\n\r\n%s\r\n"
            "--" BOUNDARY
            "\r\nContent-Disposition: form-data; name=\"chunk_number\"\r\n\r\n%lld\r\n"
            "--" BOUNDARY
            "\r\nContent-Disposition: form-data; name=\"chunk\"; filename=\"blob\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n",
            upload_id, (long long)n);
        static const char post[] = "\r\n--" BOUNDARY "--\r\n";
        hl = snprintf(head, sizeof head,
                      "POST /api/v1/files/upload/chunk HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Authorization: Bearer %s\r\n"
                      "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n"
                      "Content-Length: %lld\r\n\r\n%s",
                      token, (long long)(pl + len + (int64_t)sizeof post - 1), pre);
        if (send_all(fd, head, (size_t)hl) || send_file_range(fd, off, len) ||
            send_all(fd, post, sizeof post - 1))
            return -1;
    } else {
        hl = snprintf(head, sizeof head,
                      "PUT /api/v1/files/upload/%s/chunks/%lld HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Authorization: Bearer %s\r\nContent-Length: %lld\r\n\r\n",
                      upload_id, (long long)n, token, (long long)len);
        if (send_all(fd, head, (size_t)hl) || send_file_range(fd, off, len))
            return -1;
    }
    return read_answer(fd);
}

static void *chunk_worker(void *unused)
{
    (void)unused;
    int fd = connect_front();
    if (fd < 0)
        return NULL;
    for (;;) {
        int64_t n = atomic_fetch_add(&next_chunk, 1);
        if (n >= chunk_count || atomic_load(&failed))
            break;
        if (send_chunk(fd, n)) {
            fail("chunk", "send failed");
            break;
        }
    }
    close(fd);
    return NULL;
}

static int tus_patch(void)
{
    int fd = connect_front();
    if (fd < 0)
        return -1;
    char head[1024];
    int hl =
        snprintf(head, sizeof head,
                 "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                 "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                 "Content-Type: application/offset+octet-stream\r\nContent-Length: %lld\r\n\r\n",
                 tus_path, token, (long long)file_size);
    int rc =
        send_all(fd, head, (size_t)hl) || send_file_range(fd, 0, file_size) ? -1 : read_answer(fd);
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: upload multipart|raw PORT TOKEN FILE CHUNK CONNS ID\n"
                        "       upload tus PORT TOKEN FILE PATH\n");
        return 2;
    }
    mode = argv[1];
    port = atoi(argv[2]);
    token = argv[3];
    file_fd = open(argv[4], O_RDONLY);
    struct stat st;
    if (file_fd < 0 || fstat(file_fd, &st) != 0) {
        perror(argv[4]);
        return 2;
    }
    file_size = st.st_size;
    if (strcmp(mode, "tus") == 0) {
        tus_path = argv[5];
        return tus_patch() ? 1 : 0;
    }
    if (argc < 8)
        return 2;
    chunk_size = atoll(argv[5]);
    int conns = atoi(argv[6]);
    upload_id = argv[7];
    chunk_count = (file_size + chunk_size - 1) / chunk_size;
    pthread_t t[64];
    if (conns < 1 || conns > 64 || chunk_size < 1)
        return 2;
    for (int i = 0; i < conns; i++)
        pthread_create(&t[i], NULL, chunk_worker, NULL);
    for (int i = 0; i < conns; i++)
        pthread_join(t[i], NULL);
    return atomic_load(&failed) ? 1 : 0;
}
