#!/usr/bin/env python3
"""mock_agent_side.py MODE PORT: a mock SoftACD as the agent's phone sees it, for
checking agent_register.xml with each out-of-call agent scenario without a server.

On 127.0.0.1:PORT (UDP) it challenges the first REGISTER (401, Digest; it does not
verify the answer), accepts the authenticated one, then sends the phone an INVITE
with a Call-ID of its own and plays MODE:
  answer     expects 180, 200 -> ACK, 1 s later BYE, expects 200   (agent_uas.xml)
  hangup     expects 180, 200 -> ACK, then the phone's BYE -> 200  (agent_hangs_up.xml)
  reject     expects 180, 486 -> ACK                                (agent_rejects.xml)
  no_answer  expects 180, 1 s later CANCEL, expects 200 and 487 -> ACK (agent_no_answer.xml)
  none       sends no INVITE (agent_register.xml must then fail)
It stops at the un-REGISTER (Expires: 0) and prints "mock: <outcome>", or after
90 s of silence.
"""
import re
import socket
import sys
import time

SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 7078 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n")
CALL_ID = "agentleg-1@127.0.0.1"


class Mock:
    def __init__(self, mode, port):
        self.mode, self.port = mode, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(90)
        self.phone, self.last_addr, self.to_tag, self.outcome = None, None, "", "incomplete"

    def reply(self, msg, code, reason, extra=""):
        keep = [l for l in msg.split("\r\n") if re.match(r"(Via|From|To|Call-ID|CSeq):", l, re.I)]
        out = "\r\n".join([f"SIP/2.0 {code} {reason}"] + keep) + "\r\n" + extra + "Content-Length: 0\r\n\r\n"
        self.sock.sendto(out.encode(), self.last_addr)

    def request(self, method, cseq, branch, body=""):
        to = "<sip:1001@127.0.0.1>" + (f";tag={self.to_tag}" if self.to_tag else "")
        host, port = self.phone
        msg = (f"{method} sip:1001@{host}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch}\r\n"
               f"From: <sip:100@127.0.0.1>;tag=mockacd\r\nTo: {to}\r\nCall-ID: {CALL_ID}\r\n"
               f"CSeq: {cseq} {method}\r\nContact: <sip:acd@127.0.0.1:{self.port}>\r\nMax-Forwards: 70\r\n")
        if body:
            msg += f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        else:
            msg += "Content-Length: 0\r\n\r\n"
        self.sock.sendto(msg.encode(), self.phone)

    def on_register(self, msg):
        if not header(msg, "Authorization"):
            self.reply(msg, 401, "Unauthorized",
                       'WWW-Authenticate: Digest realm="softacd", nonce="n1", algorithm=MD5, qop="auth"\r\n')
            return False
        if header(msg, "Expires") == "0":
            self.reply(msg, 200, "OK")
            return True
        self.reply(msg, 200, "OK", f"Contact: {header(msg, 'Contact')};expires=3600\r\n")
        self.phone = self.last_addr
        if self.mode != "none":
            self.request("INVITE", 1, "z9hG4bK-mock-inv", SDP)
        return False

    def on_response(self, first, msg):
        cseq = header(msg, "CSeq")
        code = int(first.split()[1])
        if code == 180:
            self.to_tag = re.search(r"tag=([^;\s]+)", header(msg, "To")).group(1)
            if self.mode == "no_answer":
                time.sleep(1)
                self.request("CANCEL", 1, "z9hG4bK-mock-inv")
        elif code == 200 and "INVITE" in cseq:
            self.request("ACK", 1, "z9hG4bK-mock-ack")
            if self.mode == "answer":
                time.sleep(1)
                self.request("BYE", 2, "z9hG4bK-mock-bye")
        elif code == 200 and "BYE" in cseq:
            self.outcome = "our BYE answered 200"
        elif code in (486, 487):
            self.request("ACK", 1, "z9hG4bK-mock-inv")
            self.outcome = f"INVITE ended {code}, ACKed"

    def run(self):
        try:
            while True:
                data, self.last_addr = self.sock.recvfrom(65535)
                msg = data.decode(errors="replace")
                first = msg.split("\r\n", 1)[0]
                if first.startswith("REGISTER"):
                    if self.on_register(msg):
                        break
                elif first.startswith("SIP/2.0"):
                    self.on_response(first, msg)
                elif first.startswith("BYE"):
                    self.reply(msg, 200, "OK")
                    self.outcome = "the phone's BYE answered 200"
        except socket.timeout:
            self.outcome += " (timeout)"
        print("mock:", self.outcome)


def header(msg, name):
    m = re.search(r"^" + name + r":\s*(.*?)\r$", msg, re.M | re.I)
    return m.group(1) if m else ""


if __name__ == "__main__":
    Mock(sys.argv[1], int(sys.argv[2])).run()
