#!/usr/bin/env python3
"""A TCP relay in front of a Kafka broker that counts the requests passing through, by client id and API
(Produce, Fetch, ...), for the benchmarks that measure how our clients talk to the broker. The broker must
advertise the relay's address, so that clients come back through it after bootstrap. On SIGTERM or SIGINT
it writes the counts as JSON to OUT: {"client id": {"Produce": n, "Fetch TOPIC": n, ...}, ...} (a Fetch by
the first topic it names: its name, or from version 13 its id and how many of its partitions).

Usage: scripts/kafka-tap.py LISTEN_PORT UPSTREAM_HOST:PORT OUT"""
import collections
import json
import signal
import socket
import struct
import sys
import threading

API = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
       10: "FindCoordinator", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics", 22: "InitProducerId",
       32: "DescribeConfigs", 60: "DescribeCluster"}
counts = collections.defaultdict(collections.Counter)
lock = threading.Lock()


def read_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def fetched_topic(frame, body_at):
    """The first topic a Fetch request (v4–v12) names, or None; `body_at` is where its body starts."""
    version, = struct.unpack(">h", frame[2:4])
    at = body_at + 4 * 4 + 1 + 4 * 2  # replica id, max wait, min and max bytes, isolation, session
    try:
        if version <= 11:
            at += 4  # the topics array's length
            length, = struct.unpack(">h", frame[at:at + 2])
            return frame[at + 2:at + 2 + length].decode()
        if version == 12:
            at += 1  # the compact array's length (one topic or a few: one byte)
            length = frame[at] - 1
            return frame[at + 1:at + 1 + length].decode()
        # v13 and later name a topic by its id; from v15 there is no replica id.
        if version >= 15:
            at -= 4
        topic_id = frame[at + 1:at + 17].hex()
        partitions = frame[at + 17] - 1
        return f"topic {topic_id} ({partitions} partition{'s' if partitions != 1 else ''})"
    except (struct.error, IndexError, UnicodeDecodeError):
        pass
    return None


def requests(client, broker):
    """Relays the client's requests to the broker, counting each."""
    try:
        while (size := read_exact(client, 4)) is not None:
            frame = read_exact(client, struct.unpack(">i", size)[0])
            if frame is None:
                break
            api, version = struct.unpack(">hh", frame[:4])
            length, = struct.unpack(">h", frame[8:10])
            client_id = frame[10:10 + length].decode(errors="replace") if length >= 0 else ""
            name = API.get(api, str(api))
            if api == 1:
                # Header v2 (Fetch v12 and later) ends with its tagged fields: none, one byte.
                topic = fetched_topic(frame, 10 + max(length, 0) + (1 if version >= 12 else 0))
                name = f"Fetch {topic}" if topic else f"{name} v{version}"
            with lock:
                counts[client_id][name] += 1
            broker.sendall(size + frame)
    except OSError:
        pass
    for s in (client, broker):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def responses(broker, client):
    try:
        while data := broker.recv(65536):
            client.sendall(data)
    except OSError:
        pass
    try:
        client.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def main(port, upstream, out):
    host, upstream_port = upstream.rsplit(":", 1)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(port)))
    listener.listen(64)

    def stop(*_):
        with lock:
            json.dump(counts, open(out, "w"), indent=1, sort_keys=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening", flush=True)
    while True:
        client, _ = listener.accept()
        try:
            broker = socket.create_connection((host, int(upstream_port)))
        except OSError:
            client.close()
            continue
        for s in (client, broker):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=requests, args=(client, broker), daemon=True).start()
        threading.Thread(target=responses, args=(broker, client), daemon=True).start()


if __name__ == "__main__":
    main(*sys.argv[1:])
