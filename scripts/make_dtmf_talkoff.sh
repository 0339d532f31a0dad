#!/usr/bin/env bash
# make_dtmf_talkoff.sh: writes the talk-off corpus the in-band DTMF
# detector must stay silent on (ITU-T Q.24 talk-off; src/media/dtmf_inband).
# Output: tests/data/dtmf/{speech_en,speech_de,music}.wav, 8 kHz mono 16-bit.
# Needs espeak-ng and sox. Deterministic for a given espeak-ng/sox version.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/tests/data/dtmf"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

speak() { # voice speed text file
  espeak-ng -v "$1" -s "$2" -w "$tmp/raw.wav" "$3"
  sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 "$4" gain -n -6
}

speak en-us 150 "Thank you for calling. Your call is important to us. Please hold \
while we connect you to the next available agent. For billing, press one. \
For technical support, press two. Seven, eight, nine, zero. \
Oh! Really? Yes, yes, of course. Mmm, hmm. Whistle, sing, sixty six, ninety nine." \
  "$out/speech_en.wav"
speak de 160 "Guten Tag, willkommen beim Kundendienst. Bitte haben Sie einen \
Moment Geduld. Eins, zwei, drei, vier, fünf, sechs, sieben, acht, neun, null." \
  "$out/speech_de.wav"

# Music: a chord progression of plucked strings and a held chord of pure
# sines near DTMF frequencies (A5 880 Hz is 852 Hz + 3.3 %, E6 1318 Hz is
# 1336 Hz − 1.3 %, with C6 between), then a melody of square-wave notes.
sox -n -r 8000 -c 1 -b 16 "$tmp/chords.wav" \
  synth 1.5 pluck C4 pluck E4 pluck G4 pluck C5 : \
  synth 1.5 pluck F4 pluck A4 pluck C5 pluck F5 : \
  synth 1.5 sine A5 sine C6 sine E6 : \
  synth 1.5 pluck G4 pluck B4 pluck D5 pluck G5 remix - gain -n -6
sox -n -r 8000 -c 1 -b 16 "$tmp/melody.wav" \
  synth 0.25 square E5 : synth 0.25 square G5 : synth 0.25 square A5 : \
  synth 0.25 square F#6 : synth 0.5 triangle D6 : synth 0.5 sawtooth B5 : \
  synth 0.5 square E5 gain -n -8
sox "$tmp/chords.wav" "$tmp/melody.wav" "$out/music.wav"
for f in "$out"/*.wav; do
  printf '%s %s s\n' "$(basename "$f")" "$(soxi -D "$f")"
done
