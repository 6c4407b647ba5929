//! `skelzero layouts`: prints the joint layouts and the body-part groups.

use crate::skeleton::layout::{KINECT_V1, MSR20, NTU25, PartScheme};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let layouts = [&NTU25, &KINECT_V1, &MSR20];
    let schemes = [PartScheme::Two, PartScheme::Four, PartScheme::Six];
    if args.json {
        let value = serde_json::json!({
            "layouts": layouts.iter().map(|l| serde_json::json!({
                "id": l.id, "name": l.name, "joints": l.joints, "bones": l.bones,
            })).collect::<Vec<_>>(),
            "parts": schemes.iter().map(|s| serde_json::json!({
                "scheme": s,
                "parts": s.parts().iter().map(|p| serde_json::json!({"name": p.name, "joints": p.joints})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    for l in layouts {
        println!(
            "{} ({:?}), {} joints, {} bones",
            l.name,
            l.id,
            l.num_joints(),
            l.bones.len()
        );
        for (i, name) in l.joints.iter().enumerate() {
            println!("  {i:2} {name}");
        }
    }
    for s in schemes {
        println!("body parts {s:?} (NTU25 joints):");
        for p in s.parts() {
            println!("  {:9} {:?}", p.name, p.joints);
        }
    }
    Ok(())
}
