namespace BertSharp.Evaluation;

/// <summary>The tagging schemes of seqeval's strict mode (<c>mode="strict", scheme=...</c>).</summary>
public enum SeqevalScheme
{
    /// <summary>B-X begins an entity, I-X continues it, O is outside (an I-X after O or after another type is no entity).</summary>
    IOB2,

    /// <summary>E-X ends an entity, I-X begins or continues it, O is outside (an I-X not ended by an E-X is no entity).</summary>
    IOE2,

    /// <summary>B-X begins, I-X continues, E-X ends an entity of several words; S-X is an entity of one word; O is outside.</summary>
    IOBES,

    /// <summary>IOBES with other letters: B-X begins, I-X continues, L-X ends (last), U-X is a one-word entity (unit); O is outside.</summary>
    BILOU,
}
