using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The parts of BenchmarkDotNet's IColumn that every column of this suite answers the same way:
/// always shown, custom category, numeric. A column says only its id, name, legend and value.
/// </summary>
public abstract class CustomColumn(string id, string columnName, string legend, UnitType unitType = UnitType.Dimensionless, int priority = 0) : IColumn
{
    public string Id => id;
    public string ColumnName => columnName;
    public string Legend => legend;
    public UnitType UnitType => unitType;
    public int PriorityInCategory => priority;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public bool IsNumeric => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);
    public abstract string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style);
}
