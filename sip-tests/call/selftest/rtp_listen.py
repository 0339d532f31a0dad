#!/usr/bin/env python3
"""rtp_listen.py PORT SECONDS: the media end of the selftest mocks.

Receives RTP on 127.0.0.1:PORT until SECONDS pass without a packet, then prints
"packets N keys K": K are the DTMF keys of the RFC 4733 telephone-event packets
(payload type 101), one per new event timestamp (RFC 4733 section 2.5.2).
"""
import socket
import struct
import sys

KEYS = "0123456789*#ABCD"


def main():
    port, idle = int(sys.argv[1]), float(sys.argv[2])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(idle)
    keys, last_ts, packets = "", None, 0
    try:
        while True:
            data, _ = sock.recvfrom(2048)
            packets += 1
            if len(data) < 16 or data[1] & 0x7F != 101:
                continue
            ts = struct.unpack("!I", data[4:8])[0]
            if ts != last_ts and data[12] < len(KEYS):
                keys += KEYS[data[12]]
                last_ts = ts
    except socket.timeout:
        pass
    print(f"packets {packets} keys {keys}")


if __name__ == "__main__":
    main()
