/// How openly a dataset may be used (开放属性): `open` 无条件开放, `conditional` 有条件开放, `closed`
/// 不予开放. Ordered from least to most strict.
public enum Openness: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Granted at once to any active operator whose tier allows the grade.
    case open
    /// Granted only when every authority providing a dataset in the request approves.
    case conditional
    /// Never granted.
    case closed

    /// Strictness rank: 0 for `open`, 2 for `closed`.
    public var rank: Int {
        switch self {
        case .open: 0
        case .conditional: 1
        case .closed: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// The data security grade of GB/T 43697-2024 (数据分类分级规则): `general` 一般数据, `important`
/// 重要数据, `core` 核心数据. Ordered from least to most strict.
public enum Grade: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Usable by operators of every tier.
    case general
    /// Usable by `enhanced` operators only.
    case important
    /// Never granted.
    case core

    /// Strictness rank: 0 for `general`, 2 for `core`.
    public var rank: Int {
        switch self {
        case .general: 0
        case .important: 1
        case .core: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// What a use of a dataset is counted in.
public enum MeteringUnit: String, Sendable, Hashable, CaseIterable, Comparable {
    /// One request to the data product.
    case call
    /// One record delivered.
    case record
    /// One byte delivered.
    case byte

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The type of a dataset field, as published in the catalog.
public enum FieldType: String, Sendable, Hashable, CaseIterable {
    case string
    case integer
    case decimal
    case boolean
    case date
    case datetime
    case geometry
    case binary

    /// True for the types whose values compare by equality as text once normalized: the ones a field
    /// may be `filterable` in.
    public var isFilterable: Bool {
        switch self {
        case .string, .integer, .boolean, .date: true
        case .decimal, .datetime, .geometry, .binary: false
        }
    }
}

/// Why a grant is sought (应用场景).
public enum Scenario: String, Sendable, Hashable, CaseIterable {
    /// Public-interest use (公益): always free of charge.
    case publicInterest = "public_interest"
    /// Commercial use (产业), priced per unit up to the dataset's ceiling.
    case industry
}
