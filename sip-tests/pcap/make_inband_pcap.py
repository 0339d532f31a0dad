#!/usr/bin/env python3
"""make_inband_pcap.py: writes sip-tests/pcap/inband_0.pcap, key 0 as in-band
tones inside PCMU audio (no RFC 4733 events), for call/caller_menu_agent_inband.xml.

The tones are ITU-T Q.23 key 0 (941 Hz + 1336 Hz), -7 dBm0 each, 100 ms, between
200 ms of silence before and 300 ms after; G.711 mu-law (PCMU, payload type 0),
20 ms packets. Packet layout, addresses and timing come from make_pcaps.py (same
directory). The mu-law encoder below is written from the G.711 segment table.

Python 3 standard library only; deterministic. Run: python3 sip-tests/pcap/make_inband_pcap.py
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_pcaps as mp  # noqa: E402

LOW_HZ, HIGH_HZ = 941.0, 1336.0
DBM0_AMPLITUDE = 0.69 * 32767  # a sine of this peak is 0 dBm0 in G.711
LEVEL_DBM0 = -7.0


def ulaw(sample):
    """G.711 mu-law code of one 16-bit linear sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def tone_packets(ms):
    amp = DBM0_AMPLITUDE * 10 ** (LEVEL_DBM0 / 20)
    samples = [
        int(amp * (math.sin(2 * math.pi * LOW_HZ * n / 8000) + math.sin(2 * math.pi * HIGH_HZ * n / 8000)))
        for n in range(ms * 8)
    ]
    codes = bytes(ulaw(s) for s in samples)
    return [codes[i : i + mp.SAMPLES_PER_PACKET] for i in range(0, len(codes), mp.SAMPLES_PER_PACKET)]


def main():
    s = mp.Stream(0x1BA4_D000, 3000, 320_000)
    s.audio(200, mp.PT_PCMU, mp.PCMU_SILENCE)
    for payload in tone_packets(100):
        s._emit(False, mp.PT_PCMU, s.clock(), payload)
    s.audio(300, mp.PT_PCMU, mp.PCMU_SILENCE)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inband_0.pcap")
    mp.write_pcap(path, s.records)
    print(f"inband_0.pcap: {len(s.records)} packets")


if __name__ == "__main__":
    main()
