/// The syntax tree: expressions and statements as enums, each node with its location.
///
/// Repetitions of the grammar (`a + b - c`, `x.f(1)[0]`) are lists, not left-leaning trees: a
/// sum of 90,000 terms or a long chain of methods is evaluated by a loop and freed without
/// recursion. Only nesting written in the source (brackets, blocks, unary operators, `**`)
/// makes the tree deep, and the parser bounds that by the stack it has.
public indirect enum Expression: Sendable {
    case number(Double, Location)
    case string([InterpolatedPiece], Location)
    case bool(Bool, Location)
    case none(Location)
    case variable(String, Location)
    case array([Expression], Location)
    /// `["key": value, …]`, or `[:]`
    case dictionary([(key: Expression, value: Expression)], Location)
    case unary(UnaryOperator, Expression, Location)
    /// `first op₁ operand₁ op₂ operand₂ …`, operators of one precedence level applied left to right.
    case binary(Expression, [Operation])
    /// `primary` followed by calls, member accesses and subscripts, applied left to right.
    case postfix(Expression, [Suffix])
    /// condition ? then : otherwise
    case conditional(Expression, Expression, Expression, Location)
    /// `:` alone in a subscript (`x[:, 1]`, as in NumPy): every index of that axis.
    case wholeAxis(Location)

    public var location: Location {
        switch self {
        case .number(_, let l), .string(_, let l), .bool(_, let l), .none(let l), .variable(_, let l), .array(_, let l), .dictionary(_, let l),
             .unary(_, _, let l), .conditional(_, _, _, let l), .wholeAxis(let l):
            return l
        case .binary(let first, let operations): return operations.first?.location ?? first.location
        case .postfix(let base, let suffixes): return suffixes.last?.location ?? base.location
        }
    }
}

public enum UnaryOperator: String, Sendable {
    case negate = "-", not = "!"
}

public enum BinaryOperator: String, Sendable {
    case or = "||", and = "&&"
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case closedRange = "...", halfOpenRange = "..<"
    case add = "+", subtract = "-"
    case multiply = "*", divide = "/", remainder = "%", matrixProduct = "@"
    case power = "**"
}

/// One step of a `.binary` list: the operator, where it is, and its right operand.
public struct Operation: Sendable {
    public var op: BinaryOperator
    public var operand: Expression
    public var location: Location
}

/// One step of a `.postfix` list.
public enum Suffix: Sendable {
    case call([Argument], Location)
    case member(String, Location)
    case subscripted([Argument], Location)

    public var location: Location {
        switch self {
        case .call(_, let l), .member(_, let l), .subscripted(_, let l): return l
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

/// `=`, or `+=` and its kin, which apply an operator to the old value first.
public enum AssignmentOperator: Sendable {
    case assign
    case compound(BinaryOperator)
}

public indirect enum Statement: Sendable {
    case declaration(name: String, mutable: Bool, value: Expression, Location)
    case assignment(target: Expression, op: AssignmentOperator, value: Expression, Location)
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

extension Expression {
    /// A variable or an element of one (`xs[i]`): what `=` and `+=` can change.
    var isAssignable: Bool {
        switch self {
        case .variable: return true
        case .postfix(_, let suffixes):
            if case .subscripted? = suffixes.last { return true }
            return false
        default: return false
        }
    }
}
