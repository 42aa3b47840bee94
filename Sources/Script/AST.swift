/// The syntax tree: expressions and statements as enums, each node with its location.
public indirect enum Expression: Sendable {
    case number(Double, Location)
    case string([InterpolatedPiece], Location)
    case bool(Bool, Location)
    case none(Location)
    case variable(String, Location)
    case array([Expression], Location)
    case unary(String, Expression, Location)
    case binary(String, Expression, Expression, Location)
    case call(Expression, [Argument], Location)
    case member(Expression, String, Location)
    case subscripted(Expression, [Argument], Location)
    /// condition ? then : otherwise
    case conditional(Expression, Expression, Expression, Location)

    public var location: Location {
        switch self {
        case .number(_, let l), .string(_, let l), .bool(_, let l), .none(let l), .variable(_, let l), .array(_, let l),
             .unary(_, _, let l), .binary(_, _, _, let l), .call(_, _, let l), .member(_, _, let l), .subscripted(_, _, let l),
             .conditional(_, _, _, let l):
            return l
        }
    }
}

public enum InterpolatedPiece: Sendable {
    case text(String)
    case expression(Expression)
}

public struct Argument: Sendable {
    public var label: String?
    public var value: Expression
}

public struct Parameter: Sendable {
    /// The label callers write (nil for `_`).
    public var label: String?
    public var name: String
    public var defaultValue: Expression?
}

public indirect enum Statement: Sendable {
    case declaration(name: String, mutable: Bool, value: Expression, Location)
    case assignment(target: Expression, op: String, value: Expression, Location)
    case function(name: String, parameters: [Parameter], body: [Statement], Location)
    case ifElse(condition: Expression, then: [Statement], otherwise: [Statement]?, Location)
    case forIn(variable: String, sequence: Expression, body: [Statement], Location)
    case whileLoop(condition: Expression, body: [Statement], Location)
    case returnValue(Expression?, Location)
    case breakLoop(Location)
    case continueLoop(Location)
    case expression(Expression)

    public var location: Location {
        switch self {
        case .declaration(_, _, _, let l), .assignment(_, _, _, let l), .function(_, _, _, let l), .ifElse(_, _, _, let l),
             .forIn(_, _, _, let l), .whileLoop(_, _, let l), .returnValue(_, let l), .breakLoop(let l), .continueLoop(let l):
            return l
        case .expression(let e): return e.location
        }
    }
}
