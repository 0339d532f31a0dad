//! RFC 4475 torture tests against the ingress checks. The messages are typed
//! by hand from RFC 4475 §3.1.1 (valid), §3.1.2 (invalid) and §3.3/§3.4
//! (application-layer and backward-compatibility cases that ingress owns).
//! Lines are written with `\n` and sent with CRLF, as in the RFC. Where the
//! RFC says a valid message carries an unknown method (intmeth, esc02), the
//! right outcome for us as an endpoint is 501, not Accept (RFC 4475 §3.1.1.2).

use softacd::sip::ingress::{check_datagram, check_stream_message, DropReason, Ingress};
use softacd::sip::{framing::StreamFramer, HeaderView, Message, Method, Request, Response};

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

/// The 150-octet SDP body most messages carry, with the given address.
fn sdp(addr: &str) -> String {
    format!(
        "v=0\no=mhandley 29739 7272939 IN IP4 {addr}\ns=-\nc=IN IP4 {addr}\nt=0 0\n\
m=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n"
    )
}

fn accepted_request(buf: &[u8]) -> Request {
    match check_datagram(buf) {
        Ingress::Accept(Message::Request(r)) => r,
        other => panic!("expected an accepted request, got {other:?}"),
    }
}

fn accepted_response(buf: &[u8]) -> Response {
    match check_datagram(buf) {
        Ingress::Accept(Message::Response(r)) => r,
        other => panic!("expected an accepted response, got {other:?}"),
    }
}

fn rejected(buf: &[u8]) -> Response {
    match check_datagram(buf) {
        Ingress::Reject(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

// ---------------------------------------------------------------- §3.1.1

fn wsinv() -> Vec<u8> {
    let head = r#"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

"#;
    crlf(&format!("{head}{}", sdp("192.0.2.3")))
}

#[test]
fn s3_1_1_1_wsinv_short_tortuous_invite() {
    let r = accepted_request(&wsinv());
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.body.len(), 150);
    assert_eq!(r.cseq().unwrap().seq, 9);
    assert_eq!(r.max_forwards().unwrap(), Some(68));
    assert_eq!(r.to_hdr().unwrap().tag(), Some("1918181833n"));
    assert_eq!(r.from_hdr().unwrap().tag(), Some("98asjd8"));
    let vias = r.vias().unwrap();
    let hosts: Vec<&str> = vias.iter().map(|v| v.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["192.0.2.2", "spindle.example.com", "192.168.255.111"]
    );
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(r.headers.get("Subject"), Some(""));
    assert_eq!(
        r.headers.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    let softacd::sip::Contact::Addr(c) = &r.contacts().unwrap()[0] else {
        panic!("star")
    };
    assert_eq!(c.display.as_deref(), Some(r#""Quoted string \"\"""#));
    assert_eq!(softacd::sip::param(&c.params, "q"), Some(Some("0.33")));
    assert_eq!(softacd::sip::param(&c.params, "secondparam"), Some(None));
}

fn intmeth() -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n");
    m.extend_from_slice(b"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n");
    m.extend_from_slice(b"To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n");
    m.extend_from_slice("From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.\r\n".as_bytes());
    m.extend_from_slice(b"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n");
    m.extend_from_slice(b"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n");
    m.extend_from_slice(b"Max-Forwards: 255\r\n");
    m.extend_from_slice("extensionHeader-!.%*+_`'~:\u{feff}大停電\r\n".as_bytes());
    m.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    m
}

#[test]
fn s3_1_1_2_intmeth_wide_range_of_valid_characters() {
    let buf = intmeth();
    let Ok(Message::Request(r)) = softacd::sip::parse_message(&buf) else {
        panic!("intmeth must parse")
    };
    assert_eq!(
        r.method.as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    assert_eq!(
        r.uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        r.uri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(r.uri.host, "example.com");
    assert_eq!(r.cseq().unwrap().method, r.method);
    assert!(r.to_hdr().is_ok() && r.from_hdr().is_ok());
    // RFC 4475: "Endpoints will generate a 501 listing the methods they
    // understand in an Allow header field."
    let resp = rejected(&buf);
    assert_eq!(resp.code, 501);
    assert!(resp.headers.has("Allow"));
}

#[test]
fn s3_1_1_3_esc01_valid_percent_escaping() {
    let head = "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 150

";
    let r = accepted_request(&crlf(&format!("{head}{}", sdp("192.0.2.1"))));
    assert_eq!(r.uri.user.as_deref(), Some("sips%3Auser%40example.com"));
    assert_eq!(r.uri.host, "example.net");
    assert_eq!(r.call_id(), Some("esc01.239409asdfakjkn23onasd0-3234"));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn s3_1_1_4_escnull_escaped_nulls_in_uris() {
    let buf = crlf(
        "REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0

",
    );
    let r = accepted_request(&buf);
    assert_eq!(r.contacts().unwrap().len(), 2);
    assert_eq!(
        r.to_hdr().unwrap().uri.user.as_deref(),
        Some("null-%00-null")
    );
}

#[test]
fn s3_1_1_5_esc02_percent_that_is_not_an_escape() {
    let buf = crlf(
        r#"RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

"#,
    );
    let Ok(Message::Request(r)) = softacd::sip::parse_message(&buf) else {
        panic!("esc02 must parse")
    };
    assert_eq!(r.method.as_str(), "RE%47IST%45R", "not REGISTER");
    assert_eq!(r.contacts().unwrap().len(), 2, "C%6Fntact is not Contact");
    assert_eq!(rejected(&buf).code, 501);
}

#[test]
fn s3_1_1_6_lwsdisp_no_lws_between_display_name_and_laquot() {
    let r = accepted_request(&crlf(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

",
    ));
    let from = r.from_hdr().unwrap();
    assert_eq!(from.display.as_deref(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));
}

fn rep(s: &str, n: usize) -> String {
    s.repeat(n)
}

#[test]
fn s3_1_1_7_longreq_long_values_in_header_fields() {
    let mut head = format!(
        "INVITE sip:user@example.com SIP/2.0
To: \"I have a user name of {ext} proportion\"<sip:user@example.com:6000;unknownparam1=very{long}value;longparam{name}=shortvalue;very{long25}ParameterNameWithNoValue>
F: sip:{caller}@example.net;tag=12{n982}424;unknownheaderparam{a}=unknowheaderparamvalue{z};unknownValuelessparamname
Call-ID: longreq.one{really}longcallid
CSeq: 3882340 INVITE
Unknown-{lg}-Name: unknown-{lo}-value; unknown-{lo}-parameter-name = unknown-{lo}-parameter-value
Via: SIP/2.0/TCP sip33.example.com
",
        ext = rep("extreme", 10),
        long = rep("long", 20),
        name = rep("name", 25),
        long25 = rep("long", 25),
        caller = rep("amazinglylongcallername", 5),
        n982 = rep("982", 50),
        a = rep("aaaaaa", 20),
        z = rep("zzzzzz", 15),
        really = rep("really", 20),
        lg = rep("Long", 20),
        lo = rep("long", 20),
    );
    for (i, name) in (1..=32).rev().zip(["v", "V", "Via", "via"].iter().cycle()) {
        head.push_str(&format!("{name}: SIP/2.0/TCP sip{i}.example.com\n"));
    }
    head.push_str(&format!(
        "Max-Forwards: 70\nContact: <sip:{}@host5.example.net>\nContent-Type: application/sdp\nl: 150\n\n",
        rep("amazinglylongcallername", 5)
    ));
    let r = accepted_request(&crlf(&format!("{head}{}", sdp("192.0.2.1"))));
    assert_eq!(r.vias().unwrap().len(), 33);
    assert_eq!(r.from_hdr().unwrap().tag().map(str::len), Some(155));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn s3_1_1_8_dblreq_extra_trailing_octets_in_udp_datagram() {
    let first = "REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0

";
    let second = "INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: 150

";
    let buf = crlf(&format!("{first}{second}{}", sdp("192.0.2.15")));
    let r = accepted_request(&buf);
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty(), "the trailing INVITE is discarded");
}

#[test]
fn s3_1_1_9_semiuri_semicolon_separated_parameters_in_uri_user_part() {
    let r = accepted_request(&crlf(
        "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0

",
    ));
    assert_eq!(r.uri.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(r.uri.host, "example.com");
    assert!(r.uri.params.is_empty());
}

#[test]
fn s3_1_1_10_transports_varied_and_unknown_transport_types() {
    let r = accepted_request(&crlf(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0

",
    ));
    let t: Vec<String> = r.vias().unwrap().into_iter().map(|v| v.transport).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn s3_1_1_11_mpart01_multipart_mime_message_kept_as_bytes() {
    let mut body = crlf(
        "--7a9cbec02ceef655
Content-Type: text/plain
Content-Transfer-Encoding: binary

Hello
--7a9cbec02ceef655
Content-Type: application/octet-stream
Content-Transfer-Encoding: binary

",
    );
    body.extend((0u8..=255).chain([0x30, 0x82, 0x01, 0xfe, 0x06, 0x09, 0x2a, 0x86]));
    body.extend(crlf("\n--7a9cbec02ceef655--\n"));
    let head = format!("MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=
Contact: <sip:fluffy@127.0.0.1:5070>
To: <sip:kumiko@example.org>
From: <sip:fluffy@example.com>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed;boundary=7a9cbec02ceef655
Date: Sat, 15 Oct 2005 04:44:56 GMT
User-Agent: SIPimp.org/0.2.5 (curses)
Content-Length: {}

", body.len());
    let mut buf = crlf(&head);
    buf.extend_from_slice(&body);
    let r = accepted_request(&buf);
    assert_eq!(r.body, body, "binary multipart body kept byte for byte");
}

#[test]
fn s3_1_1_12_unreason_unusual_reason_phrase() {
    let head = "SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>

";
    let r = accepted_response(&crlf(&format!("{head}{}", sdp("192.0.2.198"))));
    assert_eq!(r.code, 200);
    assert_eq!(r.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
    assert_eq!(r.body.len(), 154);
}

#[test]
fn s3_1_1_13_noreason_empty_reason_phrase() {
    let r = accepted_response(&crlf(
        "SIP/2.0 100 \nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

",
    ));
    assert_eq!((r.code, r.reason.as_str()), (100, ""));
}

// ---------------------------------------------------------------- §3.1.2

fn assert_400(buf: &[u8]) -> Response {
    let r = rejected(buf);
    assert_eq!(r.code, 400, "reason {:?}", r.reason);
    r
}

#[test]
fn s3_1_2_1_badinv01_extraneous_header_field_separators() {
    let head = "INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: \"Joe\" <sip:joe@example.org>;;;;
Content-Length: 152
Content-Type: application/sdp

";
    let r = assert_400(&crlf(&format!("{head}{}", sdp("192.0.2.15"))));
    assert_eq!(r.call_id(), Some("badinv01.0ha0isndaksdjasdf3234nas"));
}

#[test]
fn s3_1_2_2_clerr_content_length_larger_than_message() {
    let head = "INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999

";
    let r = assert_400(&crlf(&format!("{head}{}", sdp("192.0.2.155"))));
    assert_eq!(r.reason, "Content-Length larger than body");
}

#[test]
fn s3_1_2_3_ncl_negative_content_length() {
    let head = "INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999

";
    let r = assert_400(&crlf(&format!("{head}{}", sdp("192.0.2.53"))));
    assert_eq!(r.reason, "Bad Content-Length");
}

#[test]
fn s3_1_2_4_scalar02_request_scalar_fields_with_overlarge_values() {
    assert_400(&crlf(
        "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 1000000000000000000000000000000000000000000000000000000000000000000000000000000000
Contact: <sip:user@host129.example.com>;expires=280297596632815
Content-Length: 0

",
    ));
}

#[test]
fn s3_1_2_5_scalarlg_response_scalar_fields_with_overlarge_values() {
    let out = check_datagram(&crlf(
        r#"SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture "In Progress"
Content-Length: 0

"#,
    ));
    assert!(
        matches!(out, Ingress::Drop(DropReason::BadResponse(_))),
        "{out:?}"
    );
}

#[test]
fn s3_1_2_6_quotbal_unterminated_quoted_string_in_display_name() {
    let head = "INVITE sip:user@example.com SIP/2.0
To: \"Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: 152

";
    let r = assert_400(&crlf(&format!("{head}{}", sdp("192.0.2.15"))));
    assert_eq!(r.reason, "Bad To");
}

fn with_request_line(line: &str, name: &str) -> Vec<u8> {
    let head = format!(
        "{line}
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: {name}.1@192.0.2.5
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 150

"
    );
    crlf(&format!("{head}{}", sdp("192.0.2.5")))
}

#[test]
fn s3_1_2_7_ltgtruri_angle_brackets_around_request_uri() {
    let r = assert_400(&with_request_line(
        "INVITE <sip:user@example.com> SIP/2.0",
        "ltgtruri",
    ));
    assert_eq!(r.reason, "Bad Request-Line");
}

#[test]
fn s3_1_2_8_lwsruri_embedded_lws_in_request_uri() {
    assert_400(&with_request_line(
        "INVITE sip:user@example.com; lr SIP/2.0",
        "lwsruri",
    ));
}

#[test]
fn s3_1_2_9_lwsstart_multiple_sp_in_request_line() {
    assert_400(&with_request_line(
        "INVITE  sip:user@example.com  SIP/2.0",
        "lwsstart",
    ));
}

#[test]
fn s3_1_2_10_trws_sp_at_end_of_request_line() {
    let buf = crlf(
        "OPTIONS sip:remote-target@example.com SIP/2.0  
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
Accept: application/sdp
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: 0

",
    );
    assert_400(&buf);
}

#[test]
fn s3_1_2_11_escruri_escaped_headers_in_request_uri() {
    let r = assert_400(&with_request_line(
        "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0",
        "escruri",
    ));
    assert_eq!(r.reason, "Headers in Request-URI");
}

#[test]
fn s3_1_2_12_baddate_invalid_time_zone() {
    let head = "INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=2234923
Max-Forwards: 70
Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234
CSeq: 1392934 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
Date: Fri, 01 Jan 2010 16:00:00 EST
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 150

";
    let r = assert_400(&crlf(&format!("{head}{}", sdp("192.0.2.5"))));
    assert_eq!(r.reason, "Bad Date");
}

#[test]
fn s3_1_2_13_regbadct_name_addr_uri_not_in_angle_brackets() {
    let r = assert_400(&crlf(
        "REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0

",
    ));
    assert_eq!(r.reason, "Bad Contact");
}

#[test]
fn s3_1_2_14_badaspec_spaces_within_addr_spec() {
    let r = assert_400(&crlf(
        r#"OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423
To: "Watson, Thomas" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0

"#,
    ));
    assert_eq!(r.reason, "Bad To");
}

#[test]
fn s3_1_2_15_baddn_non_token_characters_in_display_name() {
    let r = assert_400(&crlf(
        "OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0

",
    ));
    assert_eq!(r.reason, "Bad From");
}

#[test]
fn s3_1_2_16_badvers_unknown_protocol_version() {
    let r = rejected(&crlf(
        "OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0

",
    ));
    assert_eq!(r.code, 505);
    assert_eq!(r.call_id(), Some("badvers.31417@c.example.com"));
}

#[test]
fn s3_1_2_17_mismatch01_start_line_and_cseq_method_mismatch() {
    let r = assert_400(&crlf(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0

",
    ));
    assert_eq!(r.reason, "CSeq Method Mismatch");
}

#[test]
fn s3_1_2_18_mismatch02_unknown_method_with_cseq_mismatch() {
    let head = "NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: 150

";
    let r = assert_400(&crlf(&format!("{head}{}", sdp("192.0.2.1"))));
    assert_eq!(r.reason, "CSeq Method Mismatch", "400 wins over 501");
}

#[test]
fn s3_1_2_19_bigcode_overlarge_response_code() {
    let out = check_datagram(&crlf(
        "SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

",
    ));
    assert!(
        matches!(out, Ingress::Drop(DropReason::BadResponse(_))),
        "{out:?}"
    );
}

// ------------------------------------------------------------ §3.3, §3.4

#[test]
fn s3_3_1_insuf_missing_required_header_fields() {
    let head = "INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 152

";
    let r = assert_400(&crlf(&format!("{head}{}", sdp("192.0.2.95"))));
    assert!(r.reason.starts_with("Missing "), "{}", r.reason);
}

fn options_to(uri: &str, name: &str) -> Vec<u8> {
    crlf(&format!(
        "OPTIONS {uri} SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: {name}.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

"
    ))
}

#[test]
fn s3_3_2_unkscm_unknown_request_uri_scheme() {
    let buf = options_to("nobodyKnowsThisScheme:totallyopaquecontent", "unkscm");
    assert_eq!(rejected(&buf).code, 416);
}

#[test]
fn s3_3_3_novelsc_known_but_atypical_scheme() {
    let buf = options_to("soap.beep://192.0.2.103:3002", "novelsc");
    assert_eq!(rejected(&buf).code, 416);
}

#[test]
fn s3_3_4_unksm2_unknown_uri_schemes_in_header_fields() {
    let r = accepted_request(&crlf(
        "REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0

",
    ));
    assert_eq!(
        r.to_hdr().unwrap().uri.opaque.as_deref(),
        Some("2983792873")
    );
}

#[test]
fn s3_3_8_multi01_multiple_values_in_single_value_fields() {
    let head = "INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: 154

";
    let r = assert_400(&crlf(&format!("{head}{}", sdp("192.0.2.25"))));
    assert!(r.reason.starts_with("Duplicate "), "{}", r.reason);
}

#[test]
fn s3_3_9_mcl01_multiple_content_length_values() {
    let r = assert_400(&crlf(
        "OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain

There's no way to know how many octets are supposed to be here.
",
    ));
    assert_eq!(r.reason, "Duplicate Content-Length");
}

#[test]
fn s3_3_11_zeromf_max_forwards_of_zero_on_options_is_answered_here() {
    let r = accepted_request(&crlf(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=3ghsd41
Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas
CSeq: 39234321 OPTIONS
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i
Max-Forwards: 0
Content-Length: 0

",
    ));
    assert_eq!(r.method, Method::Options);
}

#[test]
fn s3_4_1_inv2543_rfc2543_syntax_is_accepted() {
    let r = accepted_request(&crlf(
        "INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 49217 RTP/AVP 0
",
    ));
    assert_eq!(
        r.to_hdr().unwrap().params,
        vec![("user".to_string(), Some("phone".to_string()))]
    );
    assert!(r.top_via().unwrap().branch().is_none());
}

// ------------------------------------------------------------ no panics

#[test]
fn no_torture_prefix_or_stream_split_panics() {
    let all = [
        wsinv(),
        intmeth(),
        options_to("soap.beep://192.0.2.103:3002", "n"),
    ];
    for msg in &all {
        for cut in 0..=msg.len() {
            let _ = check_datagram(&msg[..cut]);
            let _ = check_stream_message(&msg[..cut]);
            let mut f = StreamFramer::new(4096);
            f.push(&msg[..cut]);
            while let Ok(Some(_)) = f.next() {}
        }
    }
}
