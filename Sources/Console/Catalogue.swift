import Foundation

/// The console's languages: Simplified Chinese, the default, and English.
public enum ConsoleLanguage: String, Sendable, CaseIterable {
    case zh = "zh-CN"
    case en

    /// The `lang` attribute and `Content-Language` value.
    var tag: String { rawValue }

    /// The language a request asks for: the switch's cookie first, then the best of
    /// `Accept-Language` that the console speaks, else Chinese.
    static func negotiate(cookie: String?, acceptLanguage: String?) -> ConsoleLanguage {
        if let cookie, let chosen = ConsoleLanguage(switchValue: cookie) { return chosen }
        guard let acceptLanguage else { return .zh }
        var best: (language: ConsoleLanguage, weight: Double)?
        for item in acceptLanguage.split(separator: ",").prefix(32) {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let range = parts.first?.lowercased() else { continue }
            var weight = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                weight = Double(parameter.dropFirst(2)) ?? 0
            }
            let language: ConsoleLanguage? = if range == "zh" || range.hasPrefix("zh-") { .zh }
                else if range == "en" || range.hasPrefix("en-") { .en } else { nil }
            guard let language, weight > 0, weight > (best?.weight ?? 0) else { continue }
            best = (language, weight)
        }
        return best?.language ?? .zh
    }

    /// The value the language switch sends and keeps in its cookie: `zh` or `en`.
    init?(switchValue: String) {
        switch switchValue {
        case "zh": self = .zh
        case "en": self = .en
        default: return nil
        }
    }

    var switchValue: String {
        switch self {
        case .zh: "zh"
        case .en: "en"
        }
    }
}

/// Every phrase a console page shows. Each language's catalogue is one exhaustive switch over these,
/// so a phrase without a translation does not compile.
enum Phrase: CaseIterable {
    case productName
    case signInTitle, signInIntro, apiKeyLabel, signInButton, signOutButton
    case signInFailed, signInRateLimited, formExpired, sessionEnded
    case homeTitle, signedInAs, roleLabel, authorityLabel, principalLabel
    case roleAdmin, roleReviewer, roleOperator, roleAuditor, roleFinance
    case auditTitle, auditIntro, logSizeLabel, checkpointLabel, noCheckpoint, rootHashLabel, originLabel
    case verifyTitle, verifyIntro
    case notFoundTitle, notFoundText, forbiddenTitle, forbiddenText, unavailableTitle, unavailableText
    case switchLanguage, navigation, backHome, badRequestTitle, invalidPageLink, invalidDownload
    case entriesTitle, entriesIntro, entryTitle, timeLabel, actionLabel, actorLabel, subjectsLabel, fromLabel, toLabel
    case filterButton, noEntries, olderEntries, invalidFilter, leafHashLabel, entryBodyLabel
    case inclusionTitle, inclusionHolds, inclusionFails, notYetCheckpointed
    case operatorInboxTitle, operatorInboxIntro, inboxEmpty, nextPage, operatorTitle
    case legalNameLabel, usccLabel, usccChecked, tierLabel, mlpsLabel, certificationsLabel, officerLabel, erasedValue, withheldValue
    case submittedLabel, statusLabel, approvalsLabel, twoPersonRule, documentsLabel, documentNameLabel
    case reviewsLabel, reviewerLabel, decisionLabel, reasonLabel, approveChoice, rejectChoice
    case reviewTitle, submitReview, chooseDecision, refused, reviewRecorded
    case financeTitle, financeIntro, invalidYear, periodLabel, grossLabel, authoritiesLabel, platformLabel, operatorsLabel
    case closedStatus, openStatus, runningStatus, chartTitle, chartEmpty, periodTitle, periodOpenText, periodClosedText
    case closeAction, linesLabel, logEntryLabel, downloadsTitle, partiesTitle, partyLabel, amountLabel, statementLabel
    case closeTitle, closeWarning, confirmClose, cancel, periodClosedNotice
    case grantInboxTitle, grantInboxIntro, grantLabel, operatorLabel, purposeLabel, datasetsLabel, sensitiveLabel, grantTitle
    case scenarioLabel, termLabel, agreementLabel, datasetLabel, fieldsLabel, pricesLabel, quotasLabel, sensitiveMark
    case justificationLabel, tieredPrice, coApprovalTitle, awaitingDecision, noApprovalNeeded, decideTitle
    case suspendTitle, reinstateTitle, actionRecorded
    case linesTitle, lineLabel, sourceLabel, quantityLabel, moreLinesInReport, adjustmentsTitle, adjustmentLabel, correctsLabel
    case noAdjustments, bookAdjustment, amountMinorLabel, adjustmentBooked
    case operatorHomeTitle, operatorHomeIntro, notAppliedYet, quotaUsedLabel, noGrants, statementsTitle, noStatements
    case catalogueTitle, catalogueIntro, publishTitle, noDatasets, titleLabel, opennessLabel, gradeLabel, deliveryLabel, versionLabel, ceilingLabel, datasetIDLabel, descriptionLabel, themeLabel, fieldsHelp, unitsLabel, revenueShareLabel, publishButton, chooseClassification, datasetPublished, datasetTitle, fieldNameLabel, fieldTypeLabel, changeTitle, changeIntro, markSensitiveLabel, sensitivityHelp, notSensitiveMark, previewButton, previewTitle, previewIntro, beforeLabel, afterLabel, affectedGrantsTitle, affectedGrantsIntro, noAffectedGrants, notStricter, confirmChange, changedSincePreview, affectedTotalLabel, rowsShownLabel, previousPage, formTooLargeTitle, formTooLargeText, exportTitle, exportIntro, exportDownload, exportVerifyIntro
}

/// A phrase in a language.
func text(_ phrase: Phrase, _ language: ConsoleLanguage) -> String {
    switch language {
    case .zh: Catalogue.chinese(phrase)
    case .en: Catalogue.english(phrase)
    }
}

/// The catalogues, one file per language.
enum Catalogue {}
