#!/usr/bin/env bash
# Makes SoftACD's demo prompts: speech with espeak-ng, hold music and the beep
# with sox synth. Output: 8 kHz, mono, 16-bit PCM WAV, written next to this
# script. Run from anywhere: ./media/generate.sh
set -euo pipefail

for tool in espeak-ng sox; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "generate.sh: '$tool' is missing; install it with: apt-get install -y espeak-ng sox" >&2
        exit 1
    fi
done

here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Output format for every prompt: 8 kHz mono signed 16-bit little-endian.
OUT=(-r 8000 -c 1 -b 16 -e signed-integer)

speak() { # name, text
    local name="$1" text="$2"
    espeak-ng -v en-us -s 150 -p 45 -w "$tmp/$name.raw.wav" "$text"
    # Band-limit for the telephone, even out loudness, leave headroom.
    sox "$tmp/$name.raw.wav" "${OUT[@]}" "$here/$name.wav" \
        highpass 200 lowpass 3400 norm -3 pad 0.1 0.2
    echo "made $name.wav"
}

speak welcome "Welcome to SoftACD."
speak menu "For information, press 1. To speak to an agent, press 0."
speak info "SoftACD is an open source contact center. Our service desk is open every day from eight in the morning until eight in the evening."
speak invalid "Sorry, that is not a valid choice."
speak timeout "Sorry, we did not receive your choice."
speak goodbye "Thank you for calling. Goodbye."
speak queue "All our agents are busy. Please hold."

# Fragments for the IVR `say` node (src/ivr/say.rs joins them): numbers,
# units and currency, then phrases the shipped flows use.
words=(zero one two three four five six seven eight nine ten eleven twelve thirteen
       fourteen fifteen sixteen seventeen eighteen nineteen)
for i in "${!words[@]}"; do speak "n$i" "${words[$i]}"; done
tens=(twenty thirty forty fifty sixty seventy eighty ninety)
for i in "${!tens[@]}"; do speak "n$(( (i + 2) * 10 ))" "${tens[$i]}"; done
for w in hundred thousand million minus point and minute minutes second seconds \
         hour hours dollar dollars cent cents; do
    speak "$w" "$w"
done
speak you-are-caller-number "You are caller number"
speak estimated-wait "Your estimated wait time is"
speak after-hours "Our service desk is closed. We are open Monday to Friday from nine in the morning until five in the afternoon."
speak holiday "Our service desk is closed today for the holiday."
speak vip-welcome "Welcome back. As a valued customer, you are being connected to our priority team."
speak leave-message "Please leave a message after the tone. Press pound when you are done."
speak callback-offer "To leave a callback number instead of waiting, press 1."
speak enter-number "Please enter your number, followed by the pound key."
speak thank-you "Thank you."

# Hold music: four soft chords (C, A minor, F, G), 2.5 s each, plucked
# triads with a gentle fade, at low volume.
chord() { # name, three frequencies
    local name="$1"; shift
    sox -n -r 8000 -c 1 -b 16 "$tmp/$name.wav" \
        synth 2.5 pluck "$1" pluck "$2" pluck "$3" \
        remix - fade q 0.05 2.5 0.6
}
chord c 261.63 329.63 392.00
chord am 220.00 261.63 329.63
chord f 174.61 220.00 261.63
chord g 196.00 246.94 293.66
sox "$tmp/c.wav" "$tmp/am.wav" "$tmp/f.wav" "$tmp/g.wav" "${OUT[@]}" "$here/hold.wav" \
    lowpass 3000 norm -12 fade t 0.5 10 1.5
echo "made hold.wav"

# Beep: 1 kHz, 250 ms, short fades so it does not click.
sox -n "${OUT[@]}" "$here/beep.wav" synth 0.25 sine 1000 fade t 0.01 0.25 0.01 norm -6
echo "made beep.wav"
