#!/usr/bin/env python3
"""make_pcaps.py: writes the RTP captures the call-flow SIPp scenarios replay.

Owns sip-tests/pcap/*.pcap. Each file is a classic libpcap capture (LINKTYPE_ETHERNET)
of Ethernet/IPv4/UDP/RTP packets from 10.0.0.1:6000 to 10.0.0.2:6000. SIPp's
play_pcap_audio action sends only the UDP payloads, with the capture's timing, to the
media address negotiated in SDP, so the addresses here do not matter.

Streams follow RFC 3550 section 5.1 (one SSRC, consecutive sequence numbers), RFC 3551
(PCMU payload type 0, PCMA payload type 8, 8 kHz, 20 ms = 160 samples per packet) and
RFC 4733 section 2.5.1 (telephone-event payload type 101: a first packet with the
marker bit, an update every 20 ms with a growing duration, then the end packet sent
three times; while a key is down no audio is sent). Mission step 6 (a key press).

Files:
  dtmf_0.pcap            60 ms of PCMU silence, key 0 (100 ms), 60 ms of silence
  dtmf_1.pcap            the same with key 1
  dtmf_1_then_0.pcap     key 1, 500 ms of silence, key 0
  g711u_silence_2s.pcap  2 s of PCMU (payload type 0) silence, 100 packets
  g711a_silence_1s.pcap  1 s of PCMA (payload type 8) silence, 50 packets

Python 3 standard library only; the output is deterministic (fixed SSRCs, sequence
numbers and timestamps). Run from anywhere: python3 sip-tests/pcap/make_pcaps.py
"""

import os
import struct

PACKET_MS = 20
SAMPLES_PER_PACKET = 160  # 20 ms at 8000 Hz
PT_PCMU = 0
PT_PCMA = 8
PT_EVENT = 101
PCMU_SILENCE = 0xFF  # mu-law code of a zero sample
PCMA_SILENCE = 0xD5  # A-law code of a zero sample
DTMF_VOLUME = 10  # -10 dBm0
KEY_DOWN_MS = 100

SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")
SRC_IP = bytes([10, 0, 0, 1])
DST_IP = bytes([10, 0, 0, 2])
SRC_PORT = 6000
DST_PORT = 6000
EPOCH = 1_700_000_000  # capture start, seconds


def ipv4_checksum(header):
    total = 0
    for i in range(0, len(header), 2):
        total += (header[i] << 8) | header[i + 1]
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def frame(udp_payload, ident):
    """Ethernet II + IPv4 (no options) + UDP (checksum 0: none, RFC 768)."""
    udp = struct.pack("!HHHH", SRC_PORT, DST_PORT, 8 + len(udp_payload), 0) + udp_payload
    ip = bytearray(
        struct.pack("!BBHHHBBH4s4s", 0x45, 0xB8, 20 + len(udp), ident & 0xFFFF, 0x4000, 64, 17, 0, SRC_IP, DST_IP)
    )
    struct.pack_into("!H", ip, 10, ipv4_checksum(ip))
    return DST_MAC + SRC_MAC + b"\x08\x00" + bytes(ip) + udp


class Stream:
    """One RTP stream (one SSRC) being recorded. The RTP clock runs with the
    capture's wall clock: a packet sent `ms` after the start of the stream
    belongs to media time `base_ts + 8 * ms`."""

    def __init__(self, ssrc, seq, base_ts):
        self.ssrc = ssrc
        self.seq = seq
        self.base_ts = base_ts
        self.now_ms = 0
        self.records = []  # (ms since start, udp payload)

    def clock(self):
        return self.base_ts + self.now_ms * 8

    def _emit(self, marker, pt, timestamp, payload):
        header = struct.pack(
            "!BBHII", 0x80, (0x80 if marker else 0) | pt, self.seq & 0xFFFF, timestamp & 0xFFFFFFFF, self.ssrc
        )
        self.records.append((self.now_ms, header + payload))
        self.seq = (self.seq + 1) & 0xFFFF
        self.now_ms += PACKET_MS

    def audio(self, ms, pt, fill):
        """`ms` of silence in 20 ms packets; the first one after a gap has the marker."""
        for i in range(ms // PACKET_MS):
            self._emit(i == 0, pt, self.clock(), bytes([fill]) * SAMPLES_PER_PACKET)

    def key(self, digit, down_ms=KEY_DOWN_MS):
        """One key press (RFC 4733 section 2.5.1): every packet carries the
        timestamp of key-down; each 20 ms update reports the duration so far;
        the last duration is sent three times with the E bit."""
        event = "0123456789*#ABCD".index(digit)
        start = self.clock()
        full = down_ms * 8
        duration = SAMPLES_PER_PACKET
        while duration < full:
            first = duration == SAMPLES_PER_PACKET
            self._emit(first, PT_EVENT, start, struct.pack("!BBH", event, DTMF_VOLUME, duration))
            duration += SAMPLES_PER_PACKET
        for _ in range(3):
            self._emit(False, PT_EVENT, start, struct.pack("!BBH", event, 0x80 | DTMF_VOLUME, full))


def write_pcap(path, records):
    with open(path, "wb") as f:
        # magic, version 2.4, GMT offset, sigfigs, snaplen, LINKTYPE_ETHERNET
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, (ms, payload) in enumerate(records):
            data = frame(payload, n)
            sec, rem = divmod(ms, 1000)
            f.write(struct.pack("<IIII", EPOCH + sec, rem * 1000, len(data), len(data)))
            f.write(data)


def dtmf_file(keys, pause_ms, ssrc):
    s = Stream(ssrc, 1000, 160_000)
    s.audio(60, PT_PCMU, PCMU_SILENCE)
    for i, k in enumerate(keys):
        if i > 0:
            s.audio(pause_ms, PT_PCMU, PCMU_SILENCE)
        s.key(k)
    s.audio(60, PT_PCMU, PCMU_SILENCE)
    return s.records


def silence_file(ms, pt, fill, ssrc):
    s = Stream(ssrc, 20_000, 480_000)
    s.audio(ms, pt, fill)
    return s.records


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    files = {
        "dtmf_0.pcap": dtmf_file("0", 0, 0x50AC_D000),
        "dtmf_1.pcap": dtmf_file("1", 0, 0x50AC_D001),
        "dtmf_1_then_0.pcap": dtmf_file("10", 500, 0x50AC_D010),
        "g711u_silence_2s.pcap": silence_file(2000, PT_PCMU, PCMU_SILENCE, 0x50AC_0000),
        "g711a_silence_1s.pcap": silence_file(1000, PT_PCMA, PCMA_SILENCE, 0x50AC_0008),
    }
    for name, records in files.items():
        write_pcap(os.path.join(here, name), records)
        print(f"{name}: {len(records)} packets")


if __name__ == "__main__":
    main()
