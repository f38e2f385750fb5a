import AuditLog
import Foundation
import Licensing

/// The action an authority's release of a gateway dataset is logged under; `Contracts/audit-log.md`
/// describes its members.
enum ReleaseAction {
    static let published = "dataset.release_published"
    /// The media types a release is loaded from.
    static let mediaTypes: Set<String> = ["text/csv", "application/x-ndjson"]
}

extension LogReplay {
    /// A `dataset.release_published` entry: a well-formed release of a dataset the log published,
    /// by a reviewer of the dataset's authority or a platform admin, with exactly the dataset's
    /// fields, under a version not published before for it.
    mutating func releasePublished(_ data: Fields, _ entry: AuditEntry) throws(MalformedRecord) {
        let seq = entry.seq
        let datasetID = try data.string("dataset_id")
        let authorityID = try data.string("authority_id")
        let release = try data.string("release")
        let mediaType = try data.string("media_type")
        guard ReleaseAction.mediaTypes.contains(mediaType) else {
            throw MalformedRecord(reason: "media_type is not text/csv or application/x-ndjson")
        }
        let sha256 = try data.string("sha256")
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw MalformedRecord(reason: "sha256 is not 64 lower-case hex digits")
        }
        guard try data.integer("rows") >= 1 else { throw MalformedRecord(reason: "rows is not an integer of at least 1") }
        guard try data.integer("bytes") >= 1 else { throw MalformedRecord(reason: "bytes is not an integer of at least 1") }
        let fields = try data.strings("fields")
        let at = try data.time("at")
        guard entry.record.subjects == ["dataset:\(datasetID)"] else {
            throw MalformedRecord(reason: "subjects are not [\"dataset:\(datasetID)\"]")
        }
        let place = "release \(release) of dataset \(datasetID)"
        guard let dataset = state.datasets[datasetID] else {
            report(ReplayFinding(.unknownSubject, entry: seq, "\(place), which was never published"))
            return
        }
        // A platform admin may load a release too; anyone else must review for the authority.
        let actor = entry.record.actor
        let isAdmin = state.principals[actor].map { $0.role == "admin" && $0.isLive(at: at) } ?? false
        if !isAdmin, let problem = reviewerProblem(actor, actor: actor, authority: authorityID, at: at) {
            report(ReplayFinding(.reviewerIneligible, entry: seq, "\(place): \(problem)"))
        }
        if authorityID != dataset.authorityID {
            report(ReplayFinding(.releaseInvalid, entry: seq, "\(place) published for \(authorityID); the dataset is provided by \(dataset.authorityID)"))
        }
        let expected = dataset.fields.map(\.name)
        if fields != expected {
            report(ReplayFinding(.releaseInvalid, entry: seq,
                                 "\(place) has the fields [\(fields.joined(separator: ", "))]; the dataset's are [\(expected.joined(separator: ", "))]"))
        }
        // Only the versions are kept: a release is immutable, so a second one under a version is
        // all the replay must tell.
        if !state.releases[datasetID, default: []].insert(release).inserted {
            report(ReplayFinding(.releaseInvalid, entry: seq, "\(place) published a second time; a release is immutable"))
        }
    }
}
