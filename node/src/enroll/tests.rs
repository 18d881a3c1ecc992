use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use qraft_keys::{ChainId, Keypair};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::wire::{self, MAX_GRANT_PAYLOAD, MAX_HANDSHAKE_MESSAGE, StudentMsg, TeacherMsg};
use super::words::WORDS;
use super::*;

const CHAIN: ChainId = ChainId([7; 32]);

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn code(text: &str) -> JoinCode {
    text.parse().expect("a valid code")
}

fn request() -> EnrollRequest {
    EnrollRequest {
        name: "Ada Lovelace".to_owned(),
        participant: Keypair::from_label("ada's participant key").public(),
        node: Keypair::from_label("ada's node key").public(),
    }
}

fn addr(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

fn teacher(text: &str) -> Teacher {
    Teacher::new(CHAIN, code(text), Limits::default())
}

fn refusal(reply: &[u8]) -> Refusal {
    match wire::decode::<TeacherMsg>(reply, MAX_HANDSHAKE_MESSAGE) {
        Ok(TeacherMsg::Refused(r)) => r,
        other => panic!("not a refusal: {other:?}"),
    }
}

/// A student with `student_code` against `teacher`, up to the teacher's check of the
/// proof: the student's state and the teacher's answer.
fn prove(
    teacher: &mut Teacher,
    student_code: &str,
    source: IpAddr,
    now: Instant,
    seed: u64,
) -> (StudentProved, Result<(TeacherConfirmed, Vec<u8>), Rejected>) {
    let mut rng = rng(seed);
    let (hello_state, hello) = Student::start(code(student_code), request()).unwrap();
    let (attempt, offer) = teacher.begin(source, now, &hello, &mut rng).unwrap();
    let (proved, proof) = hello_state.offer(&offer, &mut rng).unwrap();
    (proved, attempt.proof(teacher, &proof))
}

// --- the join code ---

#[test]
fn generated_codes_print_and_parse_back() {
    let mut rng = rng(1);
    for _ in 0..1000 {
        let code = JoinCode::generate(&mut rng);
        let text = code.to_string();
        let parts: Vec<&str> = text.split('-').collect();
        assert_eq!(parts.len(), 3, "{text}");
        let number: u8 = parts[0].parse().unwrap();
        assert!((10..=99).contains(&number), "{text}");
        assert!(
            WORDS.contains(&parts[1]) && WORDS.contains(&parts[2]),
            "{text}"
        );
        assert_eq!(text.parse::<JoinCode>(), Ok(code));
    }
}

#[test]
fn codes_differ_by_rng_and_repeat_by_seed() {
    assert_eq!(
        JoinCode::generate(&mut rng(5)),
        JoinCode::generate(&mut rng(5))
    );
    let mut rng = rng(6);
    let codes: std::collections::HashSet<String> = (0..100)
        .map(|_| JoinCode::generate(&mut rng).to_string())
        .collect();
    assert!(codes.len() > 95);
}

#[test]
fn codes_parse_leniently() {
    let canonical = code("42-tulip-maple");
    for text in [
        "42 tulip maple",
        "42-Tulip-MAPLE",
        "  42 - tulip -- maple ",
        "42\ttulip maple",
    ] {
        assert_eq!(text.parse::<JoinCode>(), Ok(canonical), "{text:?}");
    }
    assert_eq!(canonical.to_string(), "42-tulip-maple");
}

#[test]
fn malformed_codes_say_what_is_wrong() {
    let err = |text: &str| text.parse::<JoinCode>().unwrap_err();
    assert_eq!(err(""), CodeError::Shape { parts: 0 });
    assert_eq!(err("42-tulip"), CodeError::Shape { parts: 2 });
    assert_eq!(err("42-tulip-maple-oak"), CodeError::Shape { parts: 4 });
    assert_eq!(err("9-tulip-maple"), CodeError::Number("9".into()));
    assert_eq!(err("100-tulip-maple"), CodeError::Number("100".into()));
    assert_eq!(err("tulip-42-maple"), CodeError::Number("tulip".into()));
    assert_eq!(err("42-tulp-maple"), CodeError::Word("tulp".into()));
    assert!(
        err("42-tulp-maple")
            .to_string()
            .contains("\"tulp\" is not one of")
    );
}

#[test]
fn the_word_list_is_short_distinct_lowercase_words() {
    let distinct: std::collections::HashSet<&str> = WORDS.iter().copied().collect();
    assert_eq!(distinct.len(), 256);
    for word in WORDS {
        assert!((3..=7).contains(&word.len()), "{word}");
        assert!(word.bytes().all(|b| b.is_ascii_lowercase()), "{word}");
    }
}

#[test]
fn debug_does_not_show_the_code() {
    let teacher = teacher("42-tulip-maple");
    assert!(!format!("{:?}", code("42-tulip-maple")).contains("tulip"));
    assert!(!format!("{teacher:?}").contains("tulip"));
}

// --- the exchange ---

#[test]
fn the_right_code_enrolls_and_the_grant_arrives_intact() {
    let mut teacher = teacher("42-tulip-maple");
    let mut rng = rng(2);
    let now = Instant::now();

    let (s, hello) = Student::start(code("42 Tulip Maple"), request()).unwrap();
    let (attempt, offer) = teacher.begin(addr(1), now, &hello, &mut rng).unwrap();
    let (s, proof) = s.offer(&offer, &mut rng).unwrap();
    assert_eq!(s.chain_id(), CHAIN);
    let (confirmed, confirm) = attempt.proof(&mut teacher, &proof).unwrap();
    let (s, sealed_request) = s.confirm(&confirm).unwrap();
    let (received, pending) = confirmed.request(&teacher, &sealed_request).unwrap();
    assert_eq!(received, request());

    let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let grant = s.grant(&pending.grant(&payload).unwrap()).unwrap();
    assert_eq!(
        grant,
        Grant {
            chain_id: CHAIN,
            payload
        }
    );
    // The success was refunded: the source has no charge left.
    assert_eq!(teacher.limiter_sources(), 0);
}

#[test]
fn the_request_and_grant_travel_sealed() {
    let mut teacher = teacher("42-tulip-maple");
    let (s, answer) = prove(&mut teacher, "42-tulip-maple", addr(1), Instant::now(), 3);
    let (confirmed, confirm) = answer.unwrap();
    let (s, sealed_request) = s.confirm(&confirm).unwrap();
    let name = request().name;
    let contains =
        |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&sealed_request, name.as_bytes()));
    let (_, pending) = confirmed.request(&teacher, &sealed_request).unwrap();
    let secret = b"the genesis and the voters' keys";
    let sealed_grant = pending.grant(secret).unwrap();
    assert!(!contains(&sealed_grant, secret));
    assert_eq!(s.grant(&sealed_grant).unwrap().payload, secret);
}

#[test]
fn a_wrong_code_fails_on_both_sides_and_leaks_no_grant() {
    let mut teacher = teacher("42-tulip-maple");
    let (s, answer) = prove(&mut teacher, "42-tulip-mango", addr(1), Instant::now(), 4);
    let rejected = answer.unwrap_err();
    assert_eq!(rejected.refusal, Refusal::WrongCode);
    assert_eq!(rejected.cause, EnrollError::Refused(Refusal::WrongCode));
    // The student reads the refusal and stops; it never produces a request.
    assert_eq!(
        s.confirm(&rejected.reply).unwrap_err(),
        EnrollError::Refused(Refusal::WrongCode)
    );
    assert!(rejected.to_string().contains("wrong join code"));
}

#[test]
fn a_fake_teacher_is_detected_before_the_request_leaves() {
    // The fake game does not know the code; whatever confirmation it forges, the student
    // stops, and `confirm` consumes its state without producing the request.
    let mut fake = teacher("17-otter-piano");
    for (seed, forged) in [[0u8; 32], [0xff; 32], [42; 32]].into_iter().enumerate() {
        let mut rng = rng(50 + seed as u64);
        let (s, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
        let (attempt, offer) = fake
            .begin(addr(1), Instant::now(), &hello, &mut rng)
            .unwrap();
        let (s, proof) = s.offer(&offer, &mut rng).unwrap();
        // The fake cannot check the student's proof either.
        assert_eq!(
            attempt.proof(&mut fake, &proof).unwrap_err().refusal,
            Refusal::WrongCode
        );
        let forged = wire::encode(&TeacherMsg::Confirm { confirm: forged });
        let err = s.confirm(&forged).unwrap_err();
        assert_eq!(err, EnrollError::TeacherUnproven);
        assert!(err.to_string().contains("not the teacher's game"));
    }
}

#[test]
fn a_confirmation_from_another_attempt_does_not_prove_the_teacher() {
    // A relay that replays the real teacher's confirmation of another student's attempt.
    let mut teacher = teacher("42-tulip-maple");
    let now = Instant::now();
    let (victim, _) = prove(&mut teacher, "42-tulip-maple", addr(1), now, 6);
    let (_, other) = prove(&mut teacher, "42-tulip-maple", addr(2), now, 7);
    let (_, other_confirm) = other.unwrap();
    assert_eq!(
        victim.confirm(&other_confirm).unwrap_err(),
        EnrollError::TeacherUnproven
    );
}

#[test]
fn each_attempt_gets_a_fresh_offer() {
    let mut teacher = teacher("42-tulip-maple");
    let mut rng = rng(8);
    let (_, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let (_a, first) = teacher
        .begin(addr(1), Instant::now(), &hello, &mut rng)
        .unwrap();
    let (_b, second) = teacher
        .begin(addr(1), Instant::now(), &hello, &mut rng)
        .unwrap();
    assert_ne!(first, second);
}

#[test]
fn another_games_teacher_with_the_same_code_derives_other_keys() {
    // The chain id is in the SPAKE2 identities: a proof made for one game fails another's.
    let mut game_a = teacher("42-tulip-maple");
    let mut game_b = Teacher::new(ChainId([8; 32]), code("42-tulip-maple"), Limits::default());
    let mut rng = rng(9);
    let now = Instant::now();
    let (s, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let (_a, offer_a) = game_a.begin(addr(1), now, &hello, &mut rng).unwrap();
    let (attempt_b, _) = game_b.begin(addr(1), now, &hello, &mut rng).unwrap();
    let (_, proof_for_a) = s.offer(&offer_a, &mut rng).unwrap();
    let rejected = attempt_b.proof(&mut game_b, &proof_for_a).unwrap_err();
    assert_eq!(rejected.refusal, Refusal::WrongCode);
}

#[test]
fn tampered_messages_are_caught() {
    let now = Instant::now();
    // A flipped bit in the student's SPAKE2 message: a wrong key, so a wrong code (or a
    // point that is not on the curve: garbled).
    let mut teacher = teacher("42-tulip-maple");
    let mut rng = rng(10);
    let (s, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let (attempt, offer) = teacher.begin(addr(1), now, &hello, &mut rng).unwrap();
    let (_, proof) = s.offer(&offer, &mut rng).unwrap();
    let StudentMsg::Proof { mut pake, confirm } = wire::decode(&proof, 1024).unwrap() else {
        unreachable!()
    };
    pake[5] ^= 1;
    let tampered = wire::encode(&StudentMsg::Proof { pake, confirm });
    let rejected = attempt.proof(&mut teacher, &tampered).unwrap_err();
    assert!(matches!(
        rejected.refusal,
        Refusal::WrongCode | Refusal::Garbled
    ));

    // A flipped bit in the sealed request.
    let (s, answer) = prove(&mut teacher, "42-tulip-maple", addr(2), now, 11);
    let (confirmed, confirm) = answer.unwrap();
    let (s, request) = s.confirm(&confirm).unwrap();
    let StudentMsg::Request { mut sealed } = wire::decode(&request, 1024).unwrap() else {
        unreachable!()
    };
    sealed[0] ^= 1;
    let rejected = confirmed
        .request(&teacher, &wire::encode(&StudentMsg::Request { sealed }))
        .unwrap_err();
    assert_eq!(rejected.cause, EnrollError::Tampered);
    assert_eq!(refusal(&rejected.reply), Refusal::Garbled);

    // A flipped bit in the sealed grant.
    let (s2, answer) = prove(&mut teacher, "42-tulip-maple", addr(3), now, 12);
    let (confirmed, confirm) = answer.unwrap();
    let (s2, request) = s2.confirm(&confirm).unwrap();
    let (_, pending) = confirmed.request(&teacher, &request).unwrap();
    let TeacherMsg::Grant { mut sealed } =
        wire::decode(&pending.grant(b"genesis").unwrap(), 1024).unwrap()
    else {
        unreachable!()
    };
    let last = sealed.len() - 1;
    sealed[last] ^= 0x80;
    let tampered = wire::encode(&TeacherMsg::Grant { sealed });
    assert_eq!(s2.grant(&tampered).unwrap_err(), EnrollError::Tampered);
    drop(s);
}

#[test]
fn oversized_messages_are_refused_before_decoding() {
    let mut teacher = teacher("42-tulip-maple");
    let big = vec![0u8; MAX_HANDSHAKE_MESSAGE + 1];
    let rejected = teacher
        .begin(addr(1), Instant::now(), &big, &mut rng(13))
        .unwrap_err();
    assert_eq!(
        rejected.cause,
        EnrollError::TooLarge {
            len: MAX_HANDSHAKE_MESSAGE + 1,
            limit: MAX_HANDSHAKE_MESSAGE
        }
    );
    assert_eq!(rejected.refusal, Refusal::Garbled);

    let (s, _) = Student::start(code("42-tulip-maple"), request()).unwrap();
    assert!(matches!(
        s.offer(&big, &mut rng(13)).unwrap_err(),
        EnrollError::TooLarge { .. }
    ));

    let (_, answer) = prove(&mut teacher, "42-tulip-maple", addr(2), Instant::now(), 14);
    let (confirmed, _) = answer.unwrap();
    let (s, answer) = prove(&mut teacher, "42-tulip-maple", addr(3), Instant::now(), 15);
    let (confirmed3, confirm) = answer.unwrap();
    let (_, request) = s.confirm(&confirm).unwrap();
    let (_, pending) = confirmed3.request(&teacher, &request).unwrap();
    assert_eq!(
        pending.grant(&vec![0; MAX_GRANT_PAYLOAD + 1]).unwrap_err(),
        EnrollError::TooLarge {
            len: MAX_GRANT_PAYLOAD + 1,
            limit: MAX_GRANT_PAYLOAD
        }
    );
    drop(confirmed);
}

#[test]
fn the_largest_grant_fits_its_message() {
    let mut teacher = teacher("42-tulip-maple");
    let (s, answer) = prove(&mut teacher, "42-tulip-maple", addr(1), Instant::now(), 16);
    let (confirmed, confirm) = answer.unwrap();
    let (s, request) = s.confirm(&confirm).unwrap();
    let (_, pending) = confirmed.request(&teacher, &request).unwrap();
    let payload = vec![9; MAX_GRANT_PAYLOAD];
    let grant = pending.grant(&payload).unwrap();
    assert!(grant.len() <= wire::MAX_GRANT_MESSAGE);
    assert_eq!(s.grant(&grant).unwrap().payload, payload);
}

#[test]
fn garbled_and_out_of_order_messages_are_clean_errors() {
    let mut teacher = teacher("42-tulip-maple");
    let now = Instant::now();
    // A proof where the hello belongs.
    let proof = wire::encode(&StudentMsg::Proof {
        pake: vec![0; 33],
        confirm: [0; 32],
    });
    let rejected = teacher
        .begin(addr(1), now, &proof, &mut rng(17))
        .unwrap_err();
    assert_eq!(
        rejected.cause,
        EnrollError::Unexpected {
            expected: "a hello"
        }
    );
    // Trailing bytes after a valid hello.
    let mut hello = wire::encode(&StudentMsg::Hello {
        version: wire::PROTOCOL_VERSION,
    });
    hello.push(0);
    let rejected = teacher
        .begin(addr(1), now, &hello, &mut rng(17))
        .unwrap_err();
    assert!(matches!(rejected.cause, EnrollError::Garbled(_)));
    // A SPAKE2 message of the wrong length.
    let (s, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let bad_offer = wire::encode(&TeacherMsg::Offer {
        version: wire::PROTOCOL_VERSION,
        chain_id: CHAIN,
        pake: vec![0x42; 5],
    });
    assert!(matches!(
        s.offer(&bad_offer, &mut rng(17)).unwrap_err(),
        EnrollError::Garbled(_)
    ));
    // A confirmation where the offer belongs.
    let (s, _) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let confirm = wire::encode(&TeacherMsg::Confirm { confirm: [0; 32] });
    assert!(matches!(
        s.offer(&confirm, &mut rng(17)).unwrap_err(),
        EnrollError::Unexpected { .. }
    ));
    drop(hello);
}

#[test]
fn another_protocol_version_is_refused_and_not_counted() {
    let mut teacher = teacher("42-tulip-maple");
    let hello = wire::encode(&StudentMsg::Hello { version: 99 });
    for _ in 0..20 {
        let rejected = teacher
            .begin(addr(1), Instant::now(), &hello, &mut rng(18))
            .unwrap_err();
        assert_eq!(
            rejected.refusal,
            Refusal::Version {
                ours: wire::PROTOCOL_VERSION,
                theirs: 99
            }
        );
    }
    assert_eq!(teacher.limiter_sources(), 0);
}

#[test]
fn the_teacher_can_refuse_a_request() {
    let mut teacher = teacher("42-tulip-maple");
    let (s, answer) = prove(&mut teacher, "42-tulip-maple", addr(1), Instant::now(), 19);
    let (confirmed, confirm) = answer.unwrap();
    let (s, request) = s.confirm(&confirm).unwrap();
    let (_, pending) = confirmed.request(&teacher, &request).unwrap();
    let long = "x".repeat(1000);
    let err = s.grant(&pending.refuse(&long)).unwrap_err();
    let EnrollError::Refused(Refusal::Denied(reason)) = err else {
        panic!("{err:?}")
    };
    assert_eq!(reason.len(), 200);
}

#[test]
fn invalid_requests_are_refused_by_the_student_side() {
    let with_name = |name: &str| EnrollRequest {
        name: name.to_owned(),
        ..request()
    };
    for name in ["", "   ", " Ada", "Ada\n", &"a".repeat(MAX_NAME_BYTES + 1)] {
        assert!(matches!(
            Student::start(code("42-tulip-maple"), with_name(name)).unwrap_err(),
            EnrollError::InvalidRequest(_)
        ));
    }
    let same_keys = EnrollRequest {
        node: request().participant,
        ..request()
    };
    assert!(same_keys.validate().is_err());
    assert!(with_name("Zoë Ødegård").validate().is_ok());
}

// --- closing ---

#[test]
fn closed_joining_refuses_new_and_running_attempts() {
    let mut teacher = teacher("42-tulip-maple");
    let now = Instant::now();
    let mut rng = rng(20);
    let (s, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let (attempt, offer) = teacher.begin(addr(1), now, &hello, &mut rng).unwrap();
    let (_, proof) = s.offer(&offer, &mut rng).unwrap();
    // A second attempt already confirmed, not yet requested.
    let (s2, answer) = prove(&mut teacher, "42-tulip-maple", addr(2), now, 21);
    let (confirmed, confirm) = answer.unwrap();
    let (_, request) = s2.confirm(&confirm).unwrap();

    teacher.close();
    assert!(!teacher.is_open());
    let rejected = teacher.begin(addr(3), now, &hello, &mut rng).unwrap_err();
    assert_eq!(rejected.refusal, Refusal::Closed);
    assert!(rejected.to_string().contains("closed"));
    assert_eq!(
        attempt.proof(&mut teacher, &proof).unwrap_err().refusal,
        Refusal::Closed
    );
    assert_eq!(
        confirmed.request(&teacher, &request).unwrap_err().refusal,
        Refusal::Closed
    );
}

#[test]
fn reopening_takes_a_new_code_and_the_old_one_expires() {
    let mut teacher = teacher("42-tulip-maple");
    let now = Instant::now();
    let mut rng = rng(22);
    let (s, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let (attempt, offer) = teacher.begin(addr(1), now, &hello, &mut rng).unwrap();
    let (_, proof) = s.offer(&offer, &mut rng).unwrap();
    teacher.reopen(code("17-otter-piano"));
    // Begun under the old code: refused.
    assert_eq!(
        attempt.proof(&mut teacher, &proof).unwrap_err().refusal,
        Refusal::Closed
    );
    // The old code from now on: wrong.
    let (_, answer) = prove(&mut teacher, "42-tulip-maple", addr(2), now, 23);
    assert_eq!(answer.unwrap_err().refusal, Refusal::WrongCode);
    // The new one works.
    let (_, answer) = prove(&mut teacher, "17 otter piano", addr(3), now, 24);
    assert!(answer.is_ok());
}

// --- the rate limiter ---

#[test]
fn a_source_is_blocked_after_its_failures_and_recovers_after_the_window() {
    let mut teacher = teacher("42-tulip-maple");
    let start = Instant::now();
    for i in 0..limit::PER_SOURCE_FAILURES {
        let now = start + Duration::from_secs(i as u64);
        let (_, answer) = prove(&mut teacher, "42-tulip-mango", addr(1), now, 30 + i as u64);
        assert_eq!(answer.unwrap_err().refusal, Refusal::WrongCode);
    }
    // The next attempt, even with the right code, is refused until the first failure
    // leaves the window.
    let (_, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let now = start + Duration::from_secs(10);
    let rejected = teacher
        .begin(addr(1), now, &hello, &mut rng(40))
        .unwrap_err();
    assert_eq!(
        rejected.refusal,
        Refusal::RateLimited {
            retry_after: limit::FAILURE_WINDOW - Duration::from_secs(10)
        }
    );
    assert!(rejected.to_string().contains("try again in 50 s"));
    // Another laptop is not held up.
    let (_, answer) = prove(&mut teacher, "42-tulip-maple", addr(2), now, 41);
    assert!(answer.is_ok());
    // Once the window has passed, the first source may try again.
    let later = start + limit::FAILURE_WINDOW;
    let (_, answer) = prove(&mut teacher, "42-tulip-maple", addr(1), later, 42);
    assert!(answer.is_ok());
}

#[test]
fn failures_from_many_sources_hit_the_overall_limit() {
    let mut teacher = teacher("42-tulip-maple");
    let now = Instant::now();
    for i in 0..limit::OVERALL_FAILURES {
        let source = addr(u8::try_from(i / 2).unwrap());
        let (_, answer) = prove(&mut teacher, "42-tulip-mango", source, now, 100 + i as u64);
        assert_eq!(answer.unwrap_err().refusal, Refusal::WrongCode);
    }
    let (_, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let rejected = teacher
        .begin(addr(200), now, &hello, &mut rng(43))
        .unwrap_err();
    assert!(matches!(rejected.refusal, Refusal::RateLimited { .. }));
    let later = now + limit::FAILURE_WINDOW;
    assert!(
        teacher
            .begin(addr(200), later, &hello, &mut rng(44))
            .is_ok()
    );
}

#[test]
fn successes_are_not_counted_but_abandoned_attempts_are() {
    let mut teacher = teacher("42-tulip-maple");
    let now = Instant::now();
    for i in 0..3 * limit::PER_SOURCE_FAILURES {
        let (_, answer) = prove(&mut teacher, "42-tulip-maple", addr(1), now, 200 + i as u64);
        assert!(answer.is_ok());
    }
    // Attempts opened and never finished (perhaps to get ahead of the count) are charged.
    let (_, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
    let mut rng = rng(45);
    let open: Vec<_> = (0..limit::PER_SOURCE_FAILURES)
        .map(|_| teacher.begin(addr(2), now, &hello, &mut rng).unwrap())
        .collect();
    let rejected = teacher.begin(addr(2), now, &hello, &mut rng).unwrap_err();
    assert!(matches!(rejected.refusal, Refusal::RateLimited { .. }));
    drop(open);
}

#[test]
fn the_limiter_groups_ipv6_by_slash_64_and_unmaps_ipv4() {
    let mut limiter = RateLimiter::new(Limits {
        per_source: 2,
        overall: 100,
        window: Duration::from_secs(60),
    });
    let now = Instant::now();
    let v6 = |last: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, last));
    limiter.charge(v6(1), now).unwrap();
    limiter.charge(v6(2), now).unwrap();
    assert!(limiter.charge(v6(3), now).is_err());
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
    limiter.charge(addr(1), now).unwrap();
    limiter.charge(mapped, now).unwrap();
    assert!(limiter.charge(addr(1), now).is_err());
    // Another mapped IPv4 address is another source.
    limiter
        .charge(IpAddr::V6(Ipv4Addr::new(10, 0, 0, 2).to_ipv6_mapped()), now)
        .unwrap();
    assert_eq!(limiter.sources(), 3);
}

// --- no panics on any input ---

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic_either_side(bytes in proptest::collection::vec(any::<u8>(), 0..200), seed in any::<u64>()) {
        let now = Instant::now();
        let mut teacher = teacher("42-tulip-maple");
        let mut rng = rng(seed);
        // The teacher, at each step.
        let _ = teacher.begin(addr(1), now, &bytes, &mut rng);
        let (s, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
        let (attempt, offer) = teacher.begin(addr(2), now, &hello, &mut rng).unwrap();
        let _ = attempt.proof(&mut teacher, &bytes);
        let (_, answer) = prove(&mut teacher, "42-tulip-maple", addr(3), now, seed);
        let (confirmed, confirm) = answer.unwrap();
        let _ = confirmed.request(&teacher, &bytes);
        // The student, at each step.
        let (s2, _) = Student::start(code("42-tulip-maple"), request()).unwrap();
        let _ = s2.offer(&bytes, &mut rng);
        let (proved, _) = s.offer(&offer, &mut rng).unwrap();
        let _ = proved.confirm(&bytes);
        let (s3, answer) = prove(&mut teacher, "42-tulip-maple", addr(4), now, seed ^ 1);
        let (_, confirm3) = answer.unwrap();
        let (requested, _) = s3.confirm(&confirm3).unwrap();
        let _ = requested.grant(&bytes);
        drop(confirm);
    }

    #[test]
    fn well_formed_messages_with_random_contents_never_panic(
        pake in proptest::collection::vec(any::<u8>(), 0..40),
        confirm in any::<[u8; 32]>(),
        sealed in proptest::collection::vec(any::<u8>(), 0..100),
        seed in any::<u64>(),
    ) {
        let now = Instant::now();
        let mut teacher = teacher("42-tulip-maple");
        let mut rng = rng(seed);
        let (_, hello) = Student::start(code("42-tulip-maple"), request()).unwrap();
        let (attempt, _) = teacher.begin(addr(1), now, &hello, &mut rng).unwrap();
        let proof = wire::encode(&StudentMsg::Proof { pake: pake.clone(), confirm });
        prop_assert!(attempt.proof(&mut teacher, &proof).is_err());
        let (s, _) = Student::start(code("42-tulip-maple"), request()).unwrap();
        let offer = wire::encode(&TeacherMsg::Offer { version: wire::PROTOCOL_VERSION, chain_id: CHAIN, pake });
        if let Ok((proved, _)) = s.offer(&offer, &mut rng) {
            let forged = wire::encode(&TeacherMsg::Confirm { confirm });
            prop_assert_eq!(proved.confirm(&forged).unwrap_err(), EnrollError::TeacherUnproven);
        }
        let (s, answer) = prove(&mut teacher, "42-tulip-maple", addr(2), now, seed);
        let (confirmed, confirm_msg) = answer.unwrap();
        let request = wire::encode(&StudentMsg::Request { sealed: sealed.clone() });
        prop_assert!(confirmed.request(&teacher, &request).is_err());
        let (requested, _) = s.confirm(&confirm_msg).unwrap();
        let grant = wire::encode(&TeacherMsg::Grant { sealed });
        prop_assert_eq!(requested.grant(&grant).unwrap_err(), EnrollError::Tampered);
    }
}
