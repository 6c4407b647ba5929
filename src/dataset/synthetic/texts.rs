//! The synthetic classes' texts, composed from one fixed text per part-motion: the same arm motion (or leg motion)
//! gets the same words in every class it appears in, in the same place, so an unseen combination's texts are made of
//! pieces the seen classes also use. `assets/synthetic/*.tsv` are generated from here ([`composed_tsvs`]) and
//! checked against it by `tsvs_match_the_composition` (`UPDATE_SYNTH_TEXTS=1` rewrites them).

use super::{Action, ArmMotion, LegMotion};

/// One part-motion's texts: its name in a class name (empty when still), its clause in the class sentence, its
/// body-part descriptions and four phrases.
struct PartText {
    name: &'static str,
    clause: &'static str,
    /// (hand, arm) for an arm motion, (hip, leg, foot) for a leg motion, as the first 2 or 3 entries.
    parts: [&'static str; 3],
    phrases: [&'static str; 4],
}

fn arm_text(m: ArmMotion) -> PartText {
    match m {
        ArmMotion::Still => PartText {
            name: "",
            clause: "keeps both arms hanging at the sides",
            parts: [
                "both hands hang still at the sides",
                "both arms hang down without moving",
                "",
            ],
            phrases: [
                "the arms hang down",
                "the hands stay still",
                "no arm movement",
                "both arms rest at the sides",
            ],
        },
        ArmMotion::Wave => PartText {
            name: "wave right hand",
            clause: "raises the right hand above the head and waves it from side to side",
            parts: [
                "the right hand waves from side to side above the head",
                "the right arm is raised out to the side with the elbow bent",
                "",
            ],
            phrases: [
                "waving the right hand",
                "the right hand swings side to side overhead",
                "a hand raised in greeting",
                "the right forearm rocks left and right",
            ],
        },
        ArmMotion::Punch => PartText {
            name: "punch with right fist",
            clause: "holds both fists at the chest and punches forward with the right fist again and again",
            parts: [
                "the right fist shoots forward and pulls back to the chest",
                "the right arm jabs straight forward from a guard at the chest",
                "",
            ],
            phrases: [
                "punching forward",
                "the right fist strikes ahead",
                "a boxing jab",
                "the right arm extends and retracts quickly",
            ],
        },
        ArmMotion::Raise => PartText {
            name: "raise both arms",
            clause: "lifts both straight arms high above the head and lowers them",
            parts: [
                "both hands go up above the head and come down",
                "both arms swing up overhead and back down",
                "",
            ],
            phrases: [
                "both arms raised overhead",
                "the hands reach up high",
                "arms lifted toward the sky",
                "both arms go up and down",
            ],
        },
        ArmMotion::Clap => PartText {
            name: "clap hands",
            clause: "claps both hands together in front of the chest",
            parts: [
                "the palms meet and part in front of the chest",
                "both forearms come together in front of the body",
                "",
            ],
            phrases: [
                "clapping the hands",
                "applause",
                "the palms strike together",
                "both hands meet in front of the chest",
            ],
        },
    }
}

fn leg_text(m: LegMotion) -> PartText {
    match m {
        LegMotion::Still => PartText {
            name: "",
            clause: "stands still on both feet",
            parts: [
                "the hips stay level and still",
                "both legs stand straight without moving",
                "both feet stay flat on the floor",
            ],
            phrases: [
                "standing still",
                "the legs do not move",
                "both feet on the floor",
                "no leg movement",
            ],
        },
        LegMotion::Kick => PartText {
            name: "kick with left leg",
            clause: "kicks forward with the left leg",
            parts: [
                "the hips stay level while the left leg swings",
                "the left leg swings forward and up as the knee straightens",
                "the left foot kicks forward off the floor",
            ],
            phrases: [
                "kicking with the left leg",
                "the left foot kicks ahead",
                "a forward kick",
                "the left leg swings up",
            ],
        },
        LegMotion::Knee => PartText {
            name: "raise right knee",
            clause: "lifts the right knee up to hip height and lowers it",
            parts: [
                "the right hip flexes to lift the thigh",
                "the right thigh rises to horizontal with the shin hanging down",
                "the right foot lifts off the floor and comes back down",
            ],
            phrases: [
                "raising the right knee",
                "the right knee comes up high",
                "marching with the right leg",
                "the right thigh lifts level",
            ],
        },
        LegMotion::Squat => PartText {
            name: "squat",
            clause: "bends both knees to squat down and stands back up",
            parts: [
                "the hips sink low and rise again",
                "both knees bend deeply and straighten",
                "both feet stay flat while the body lowers",
            ],
            phrases: [
                "squatting down",
                "the body lowers and rises",
                "both knees bend",
                "crouching and standing up",
            ],
        },
        LegMotion::Step => PartText {
            name: "step left leg sideways",
            clause: "steps the left leg out to the side and brings it back",
            parts: [
                "the hips shift sideways over the right foot",
                "the left leg swings out to the side and returns",
                "the left foot moves out sideways and back",
            ],
            phrases: [
                "stepping sideways with the left leg",
                "the left foot moves to the side",
                "a side step",
                "the left leg opens out and closes",
            ],
        },
    }
}

const HEAD: &str = "the head stays upright and faces forward";

/// (name, sentence, parts, phrases) of one class.
type Texts = (String, String, [String; 6], Vec<String>);

fn class_texts(action: Action) -> Texts {
    match action {
        Action::Combo(arm, leg) => {
            let (a, l) = (arm_text(arm), leg_text(leg));
            let name = match (a.name.is_empty(), l.name.is_empty()) {
                (false, false) => format!("{} and {}", a.name, l.name),
                (false, true) => a.name.to_string(),
                _ => l.name.to_string(),
            };
            let sentence = format!("A person {}, and {}.", a.clause, l.clause);
            let parts = [HEAD, a.parts[0], a.parts[1], l.parts[0], l.parts[1], l.parts[2]]
                .map(String::from);
            let phrases = a.phrases.iter().chain(&l.phrases).map(|s| s.to_string()).collect();
            (name, sentence, parts, phrases)
        }
        Action::ShakeHands => (
            "shake hands".into(),
            "Two people face each other; each holds out the right hand, they clasp hands and pump them up and \
             down a few times, then let go."
                .into(),
            [
                HEAD,
                "the right hand reaches toward the other person and pumps up and down",
                "the right arm extends forward toward the other person, elbow bent",
                "the hips stay level and still",
                "both legs stand straight without moving",
                "both feet stay flat on the floor",
            ]
            .map(String::from),
            [
                "two people shake hands",
                "the right hands meet between them",
                "a handshake",
                "the hands pump up and down",
                "two people face each other",
                "greeting another person",
                "both hold out the right arm",
                "the left arms hang down",
            ]
            .map(String::from)
            .to_vec(),
        ),
        Action::Push => (
            "push another person".into(),
            "A person raises both hands to the chest and shoves the person in front of them with both arms; the \
             other person stumbles backward."
                .into(),
            [
                HEAD,
                "both hands shove forward against the other person",
                "both arms extend forward together from the chest",
                "the body leans forward into the push",
                "both legs stand straight without moving",
                "both feet stay flat on the floor",
            ]
            .map(String::from),
            [
                "a person pushes another person",
                "both hands shove forward",
                "the other person stumbles back",
                "pushing someone away",
                "both arms extend forward together",
                "the other person steps backward",
                "two people face each other",
                "a shove with both hands",
            ]
            .map(String::from)
            .to_vec(),
        ),
    }
}

/// The class name of `action`.
pub fn class_name(action: Action) -> String {
    class_texts(action).0
}

/// `classes.tsv`, `sentence.tsv`, `parts.tsv`, `phrases.tsv` (file name, contents) for [`Action::ALL`], ids `s01`..
pub fn composed_tsvs() -> [(&'static str, String); 4] {
    let mut classes = String::from("id\tname\n");
    let mut sentence = String::from("id\tsentence\n");
    let mut parts = String::from("id\thead\thand\tarm\thip\tleg\tfoot\n");
    let mut phrases = String::from("id\tphrase\n");
    for (i, &action) in Action::ALL.iter().enumerate() {
        let id = format!("s{:02}", i + 1);
        let (name, sent, part, phr) = class_texts(action);
        classes += &format!("{id}\t{name}\n");
        sentence += &format!("{id}\t{sent}\n");
        parts += &format!("{id}\t{}\n", part.join("\t"));
        for p in phr {
            phrases += &format!("{id}\t{p}\n");
        }
    }
    [
        ("classes.tsv", classes),
        ("sentence.tsv", sentence),
        ("parts.tsv", parts),
        ("phrases.tsv", phrases),
    ]
}
