using RnnRuntime.Native;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>What rnnrt_last_error() says for a .NET exception: C's words, none of .NET's decorations.</summary>
public class NativeMessageTests
{
    public static TheoryData<Exception, string> Exceptions() => new()
    {
        { new ArgumentException("x and y must not overlap", "y"), "x and y must not overlap" },
        { new ArgumentOutOfRangeException("batchSize", 0, "batch size must be in 1..65536"), "batch is 0; batch size must be in 1..65536" },
        { new ArgumentOutOfRangeException("steps", -1L, "steps must not be negative"), "steps is -1; steps must not be negative" },
        { new RnnShapeException("x has 3 floats; expected 4 (batch 1 x input 4)", "x"), "x has 3 floats; expected 4 (batch 1 x input 4)" },
        { new ArgumentNullException("path", "path is NULL"), "path is NULL" },
        { new InvalidOperationException("a message (Parameter 'kept') that is not an argument's"), "a message (Parameter 'kept') that is not an argument's" },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public void ArgumentExceptionsLoseDotNetsDecorations(Exception e, string expected)
    {
        Assert.Equal(expected, LastError.MessageOf(e));
    }

    [Fact]
    public void WhatTheRuntimeThrowsReadsAsC()
    {
        using var m = RnnModel.Load(TestModels.Create(RnnCellKind.Gru, 4, 6), new RnnOptions { Backend = "reference" });
        using var s = m.CreateSession();
        var failures = new List<Exception>
        {
            Assert.ThrowsAny<ArgumentException>(() => m.CreateSession(0)),
            Assert.ThrowsAny<ArgumentException>(() => s.Step(new float[3], new float[6])),
            Assert.ThrowsAny<ArgumentException>(() => s.Step([1, float.NaN, 0, 0], new float[6])),
            Assert.ThrowsAny<ArgumentException>(() => s.Run(new float[4], -1, new float[6])),
        };
        foreach (Exception e in failures)
        {
            string message = LastError.MessageOf(e);
            Assert.DoesNotContain("(Parameter '", message);
            Assert.DoesNotContain("Actual value", message);
            Assert.DoesNotContain('\n', message);
        }
        Assert.StartsWith("batch is 0; ", LastError.MessageOf(failures[0]));
        Assert.StartsWith("steps is -1; ", LastError.MessageOf(failures[3]));
    }
}
